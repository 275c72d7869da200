import { PyDict, isDict, seqItems } from "../../formats/pickle/values.js";
import type { DecodedState, FileLoader } from "../file-loader.js";
import { numberOf, readOptimizer } from "../torch-state.js";
import type { ExpectedFile, OptimizerView, Part, RankFinding, StateFile } from "../types.js";
import { finding } from "./rules.js";
import type { ModelInfo } from "./summary.js";
import { join } from "./tag.js";
import { zeroStageOf } from "./values.js";

/** A model's parameter count is in the thousands at most; a param_shapes naming more is not read further. */
const MAX_PARAMS = 100_000;

export interface UniversalRead {
  findings: RankFinding[];
  expectedFiles: ExpectedFile[];
  stateFiles: StateFile[];
  optimizer?: Part<OptimizerView>;
  params: number;
  /** zero/optimizer_state.pt keeps the source tag's zero_stage. */
  zeroStage?: number;
}

/**
 * A universal checkpoint (ds_to_universal.py; research §1.7, §1.9.9):
 * zero/optimizer_state.pt and, for every parameter param_shapes names,
 * zero/<name>/fp32.pt, plus exp_avg.pt and exp_avg_sq.pt when the optimizer
 * is Adam. Parameter names come from a pickle, so they are only compared
 * with folder listings, never joined into paths unchecked.
 */
export async function readUniversal(loader: FileLoader, rel: string, model: ModelInfo | undefined): Promise<UniversalRead> {
  const out: UniversalRead = { findings: [], expectedFiles: [], stateFiles: [], params: 0 };
  const zeroRel = join(rel, "zero");
  const zero = await loader.list(zeroRel);
  const missing: string[] = [];
  const optRel = join(zeroRel, "optimizer_state.pt");
  const decode = async (fileRel: string, listed: boolean): Promise<DecodedState | undefined> => {
    const spec = await loader.examine({ rel: fileRel, role: "universal checkpoint state", required: true, expect: "torch" });
    if (spec.problem?.code === "FILE_MISSING") {
      missing.push(fileRel.slice(rel.length + 1));
      return undefined;
    }
    const d = await loader.decode(fileRel, spec.problem && `${fileRel} is unusable (see required-files)`);
    // Thousands of parameter files decode the same way: only the ones with something to say are listed.
    if (listed || spec.problem) out.expectedFiles.push(spec);
    if (listed || d.state.problem || d.state.verdicts.some((v) => v.tier !== "allowed")) out.stateFiles.push(d.state);
    return d;
  };
  const opt = await decode(optRel, true);
  const groups = isDict(opt?.value) ? seqItems(opt.value.get("param_groups")) : undefined;
  if (isDict(opt?.value)) out.zeroStage = zeroStageOf(opt.value.get("zero_stage"));
  const adam = groups?.some((g) => isDict(g) && g.has("betas")) ?? true;
  const names = (model?.shapes ?? []).flat().map((p) => p.name);
  if (names.length > MAX_PARAMS) names.length = MAX_PARAMS;
  out.params = names.length;
  const folders = new Set(zero.filter((e) => e.kind === "directory").map((e) => e.name));
  const steps: { name: string; step: number }[] = [];
  for (const name of names) {
    if (!folders.has(name)) {
      missing.push(`zero/${name}/`);
      continue;
    }
    const dir = join(zeroRel, name);
    const files = new Set((await loader.list(dir)).map((e) => e.name));
    for (const want of adam ? ["fp32.pt", "exp_avg.pt", "exp_avg_sq.pt"] : ["fp32.pt"]) {
      if (files.has(want)) await decode(join(dir, want), false);
      else missing.push(`zero/${name}/${want}`);
    }
    if (files.has("step.pt")) {
      const d = await decode(join(dir, "step.pt"), false);
      const step = d ? await numberOf(d.value, d.scalar) : undefined;
      if (step !== undefined) steps.push({ name, step });
    }
  }
  if (missing.length > 0) {
    const files = `${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""}`;
    out.findings.push(finding("error", "DS_UNIVERSAL_INCOMPLETE", { folder: rel, count: missing.length, files }, join(rel, missing[0]!)));
  }
  const distinct = [...new Set(steps.map((s) => s.step))];
  if (distinct.length > 1) {
    const detail = distinct.map((v) => `${v} for ${steps.filter((s) => s.step === v).slice(0, 3).map((s) => s.name).join(", ")}`).join("; ");
    out.findings.push(finding("error", "DS_RANK_STEPS_DISAGREE", { tag: rel, detail }, join(zeroRel, steps.find((s) => s.step !== distinct[0])!.name)));
  }
  if (opt && isDict(opt.value)) out.optimizer = await universalOptimizer(opt, optRel, steps);
  return out;
}

/** zero/optimizer_state.pt holds the param groups; every parameter's step.pt holds its step. */
async function universalOptimizer(opt: DecodedState, rel: string, steps: { name: string; step: number }[]): Promise<Part<OptimizerView>> {
  const groups = (opt.value as PyDict).get("param_groups");
  const sd = new PyDict();
  sd.set("state", new PyDict());
  if (groups !== undefined) sd.set("param_groups", groups);
  const part = await readOptimizer(sd, { where: `${rel} (and zero/<param>/step.pt)`, required: true }, opt.scalar);
  if (part.state !== "present") return part;
  return { state: "present", view: { ...part.view, className: "DeepSpeed universal checkpoint optimizer", steps: steps.map((s) => ({ param: s.name, step: s.step })), stateCount: steps.length } };
}
