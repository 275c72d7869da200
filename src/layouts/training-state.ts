import { PyFloat, isDict, isInt, pyTypeName, toNumber, type PyDict, type PyValue } from "../formats/pickle/values.js";
import type { VerifyOptions } from "../core/options.js";
import { defineLayout, savedName } from "./define.js";
import type { FileLoader } from "./file-loader.js";
import { readOptimizer, readScaler, readScheduler } from "./torch-state.js";
import type { NormalisedCheckpoint, Problem, Progress } from "./types.js";
import { resolveWeights } from "./weights.js";
import { baseCheckpoint, examineAll, leftovers } from "./common.js";

const STATE = "training_state.pth";

/** Required keys of the original pipeline's training state, with what they mean. */
const REQUIRED: { key: string; expected: string; meaning: string; ok: (v: PyValue) => boolean }[] = [
  { key: "epoch", expected: "int >= 0", meaning: "completed epochs", ok: (v) => isInt(v) && Number(v) >= 0 },
  { key: "step", expected: "int >= 0", meaning: "batches done in the current epoch", ok: (v) => isInt(v) && Number(v) >= 0 },
  { key: "total_batches", expected: "int > 0", meaning: "batches per epoch", ok: (v) => isInt(v) && Number(v) > 0 },
  { key: "optimizer_state_dict", expected: "a dict", meaning: "the optimizer's state_dict()", ok: (v) => isDict(v) },
];

/** The original pipeline's folder: training_state.pth, config.json and the weights. */
export const trainingStateLayout = defineLayout({
  name: "training-state",
  takes: ["folder"],
  // A save interrupted before its final rename leaves `training_state.pth.tmp`: still this layout, with a file missing.
  detect: (t) => (t.kind === "folder" && t.entries.some((e) => savedName(e.name) === STATE) ? "training_state.pth present" : undefined),
  load: (loader, _target, options) => loadTrainingState(loader, options),
});

async function loadTrainingState(loader: FileLoader, options: VerifyOptions): Promise<NormalisedCheckpoint> {
  const c = baseCheckpoint("training-state", loader.root, "training_state.pth present");
  const weights = await resolveWeights(loader);
  const files = await examineAll(loader, [
    { rel: STATE, role: "training state", required: true, expect: "torch" },
    { rel: "config.json", role: "model config", required: true, expect: "json" },
  ]);
  c.expectedFiles = [...files, ...weights.expected];
  c.weights = weights.view;
  c.leftovers = await leftovers(loader);
  const cfg = files[1]!;
  c.config = cfg.problem ? { rel: cfg.rel, problem: cfg.problem } : { rel: cfg.rel, text: (await loader.json(cfg.rel)).text };
  const stateSpec = files[0]!;
  const decoded = await loader.decode(STATE, stateSpec.problem && `${STATE} is unusable (see required-files)`);
  c.stateFiles = [decoded.state];
  const unavailable = (why: string) => ({ state: "unavailable" as const, reason: why });
  const root = decoded.value;
  if (!isDict(root)) {
    const why = decoded.state.unusable ?? `${STATE} could not be decoded`;
    if (root !== undefined) c.schemaProblems.push({ code: "STATE_NOT_A_DICT", data: { file: STATE, type: pyTypeName(root) }, file: STATE });
    c.progress = c.optimizer = c.scheduler = c.scaler = unavailable(why);
    return c;
  }
  c.schemaProblems = schemaProblems(root);
  c.schemaKeys = REQUIRED.map((r) => r.key);
  const missingOpt = !isDict(root.get("optimizer_state_dict"));
  c.optimizer = missingOpt
    ? unavailable("optimizer_state_dict is missing or not a dict (see training-state)")
    : await readOptimizer(root.get("optimizer_state_dict"), { where: `${STATE}: optimizer_state_dict`, required: true }, decoded.scalar);
  c.scheduler = readScheduler(root.get("scheduler_state_dict"), { where: `${STATE}: scheduler_state_dict`, required: false });
  c.scaler = await readScaler(root.get("scaler_state_dict"), { where: `${STATE}: scaler_state_dict`, required: false }, decoded.scalar);
  const progress = readProgress(root, options);
  c.progress = progress ? { state: "present", view: progress } : unavailable("epoch, step or total_batches is missing or invalid (see training-state)");
  return c;
}

function schemaProblems(root: PyDict): Problem[] {
  const out: Problem[] = [];
  for (const r of REQUIRED) {
    const v = root.get(r.key);
    if (v === undefined) out.push({ code: "STATE_KEY_MISSING", data: { file: STATE, key: r.key, meaning: r.meaning }, file: STATE });
    else if (!r.ok(v)) out.push({ code: "STATE_KEY_TYPE", data: { file: STATE, key: r.key, actual: describe(v), expected: r.expected }, file: STATE });
  }
  const ga = root.get("gradient_accumulation_steps");
  if (ga !== undefined && !(isInt(ga) && Number(ga) >= 1)) {
    out.push({ code: "STATE_KEY_TYPE", data: { file: STATE, key: "gradient_accumulation_steps", actual: describe(ga), expected: "int >= 1" }, file: STATE });
  }
  for (const key of ["best_val_f1", "best_val_acc"]) {
    const v = root.get(key);
    if (v !== undefined && toNumber(v) === undefined) out.push({ code: "STATE_KEY_TYPE", data: { file: STATE, key, actual: describe(v), expected: "a float" }, file: STATE });
  }
  return out;
}

function describe(v: PyValue): string {
  const t = pyTypeName(v);
  return typeof v === "number" || typeof v === "bigint" || v instanceof PyFloat || typeof v === "string" ? `${t} ${String(v instanceof PyFloat ? v.value : v)}` : t;
}

function readProgress(root: PyDict, options: VerifyOptions): Progress | undefined {
  const [epoch, step, total] = ["epoch", "step", "total_batches"].map((k) => {
    const v = root.get(k);
    return isInt(v) ? Number(v) : undefined;
  });
  if (epoch === undefined || step === undefined || total === undefined || epoch < 0 || step < 0 || total <= 0) return undefined;
  const recorded = root.get("gradient_accumulation_steps");
  const gaRecorded = isInt(recorded) && Number(recorded) >= 1;
  const gradAccum = gaRecorded ? Number(recorded) : (options.gradientAccumulationSteps ?? 1);
  const batches = epoch * total + step;
  const batchFormula = `${epoch} epochs × ${total} batches + ${step}`;
  const metrics = ["best_val_f1", "best_val_acc"].flatMap((key) => {
    const value = toNumber(root.get(key));
    return value === undefined ? [] : [{ key, value }];
  });
  return {
    epoch,
    stepInEpoch: step,
    batchesPerEpoch: total,
    gradAccum,
    gradAccumRecorded: gaRecorded,
    expectedOptimizerSteps: Math.floor(batches / gradAccum),
    formula: gradAccum > 1 ? `(${batchFormula}) / ${gradAccum} accumulation steps` : batchFormula,
    stepsToSkip: batches,
    skipFormula: `${batchFormula} = ${batches} batches`,
    metrics,
    describe: `epoch ${epoch}, step ${step} of ${total} batches per epoch, gradient accumulation ${gradAccum}${gaRecorded ? " (recorded)" : options.gradientAccumulationSteps ? " (from the flag)" : " (default)"}`,
  };
}
