import { defineCheck, findings, reporter } from "./define.js";
import { globalFindings } from "./helpers/globals.js";

const r = reporter("training-state");

export const trainingStateCheck = defineCheck({
  id: "training-state",
  title: "Training state decodes safely",
  codes: ["STATE_DECODED", "STATE_UNREADABLE", "STATE_NOT_A_DICT", "STATE_KEY_MISSING", "STATE_KEY_TYPE", "STATE_KEYS_OK", "STATE_JSON_INVALID", "GLOBALS_ALLOWED", "GLOBAL_HARMLESS", "GLOBAL_UNKNOWN", "GLOBAL_UNSAFE"],
  alsoReports: ["TORCH_FILE_PROBLEM"],
  run({ checkpoint: c }) {
    if (!c.pathStatus.ok) return { skip: "the checkpoint path is not usable" };
    if (c.stateFiles.length === 0) return { skip: "this layout has no training-state files" };
    const usable = c.stateFiles.filter((s) => !s.unusable);
    if (usable.length === 0) return { skip: c.stateFiles.map((s) => s.unusable).join("; ") };
    const out = usable.flatMap((s) => [
      s.problem
        ? r.error(s.problem.code, { file: s.rel, ...s.problem.data }, s.rel)
        : r.pass("STATE_DECODED", { file: s.rel, summary: s.summary ?? "" }, s.rel),
      ...s.torchProblems.map((p) => r.error(p.code, { file: s.rel, ...p.data }, s.rel)),
      ...(s.json ? [] : globalFindings(r, s.rel, s.verdicts)),
    ]);
    const schema = c.schemaProblems.map((p) => r.error(p.code, p.data, p.file));
    const main = usable[0];
    const keysOk = schema.length === 0 && c.schemaKeys.length > 0 && main && !main.problem;
    return findings(out, schema, keysOk && r.pass("STATE_KEYS_OK", { file: main.rel, keys: c.schemaKeys.join(", ") }, main.rel));
  },
});
