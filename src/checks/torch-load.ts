import type { TorchLoad } from "../layouts/types.js";
import { addSafeGlobalsLine } from "../safety/weights-only.js";
import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("torch-load");
/** Real resume files need a handful; a file naming more is listed this far (the training-state check names every one). */
const MAX_LISTED = 100;

/**
 * Every file the resuming framework passes to torch.load, judged as torch >=
 * 2.6 loads it by default (weights_only=True): loads, loads because the
 * framework allowlists what it needs itself, needs an add_safe_globals line
 * (which the finding gives), or cannot be made to load. A refusal is
 * information unless `--torch-load weights-only` says the resume runs such a torch.
 */
export const torchLoadCheck = defineCheck({
  id: "torch-load",
  title: "Loads under torch.load(weights_only=True)",
  codes: ["TORCH_LOAD_OK", "TORCH_LOAD_FRAMEWORK_ALLOWS", "TORCH_LOAD_NEEDS_SAFE_GLOBALS", "TORCH_LOAD_REFUSED"],
  run({ checkpoint: c, options }) {
    const loads = c.resume?.torchLoads ?? [];
    if (loads.length === 0) return { skip: "the resume torch.loads no file that could be decoded" };
    return findings(loads.map((l) => judge(l, options.torchLoad === "weights-only" ? "warn" : "info")));
  },
});

function judge(l: TorchLoad, refusal: "warn" | "info") {
  const w = l.weightsOnly;
  const own = new Set(l.frameworkAllows?.names ?? []);
  const needs = w.allow.filter((n) => !own.has(n));
  const data = { file: l.rel, by: l.by };
  if (w.blockers.length > 0) return r.at(refusal)("TORCH_LOAD_REFUSED", { ...data, reasons: w.blockers.slice(0, MAX_LISTED) }, l.rel);
  if (needs.length > 0) {
    const listed = needs.length <= MAX_LISTED ? needs : [...needs.slice(0, MAX_LISTED), `... ${needs.length - MAX_LISTED} more`];
    const code = needs.length <= MAX_LISTED ? addSafeGlobalsLine(needs) : `(${needs.length} globals: too many to allowlist one by one)`;
    return r.at(refusal)("TORCH_LOAD_NEEDS_SAFE_GLOBALS", { ...data, globals: listed, code }, l.rel);
  }
  if (w.allow.length > 0) return r.pass("TORCH_LOAD_FRAMEWORK_ALLOWS", { ...data, globals: w.allow, how: l.frameworkAllows?.how, code: addSafeGlobalsLine(w.allow) }, l.rel);
  return r.pass("TORCH_LOAD_OK", data, l.rel);
}
