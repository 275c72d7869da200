import { errorMessage } from "../core/errors.js";
import { parsePythonJson } from "../formats/json/python-json.js";
import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("config");

export const configCheck = defineCheck({
  id: "config",
  title: "Model config",
  codes: ["CONFIG_OK", "CONFIG_INVALID", "CONFIG_NOT_OBJECT"],
  run({ checkpoint: c }) {
    const cfg = c.config;
    if (!cfg) return { skip: "this layout has no model config file" };
    if (cfg.problem) return findings(r.error(cfg.problem.code, { file: cfg.rel, ...cfg.problem.data }, cfg.rel));
    if (cfg.text === undefined) return { skip: `${cfg.rel} could not be read (see required-files)` };
    let parsed: unknown;
    try {
      parsed = parsePythonJson(cfg.text);
    } catch (e) {
      return findings(r.error("CONFIG_INVALID", { file: cfg.rel, reason: errorMessage(e) }, cfg.rel));
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return findings(r.error("CONFIG_NOT_OBJECT", { file: cfg.rel, type: parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed }, cfg.rel));
    }
    return findings(r.pass("CONFIG_OK", { file: cfg.rel, keys: Object.keys(parsed).length }, cfg.rel));
  },
});
