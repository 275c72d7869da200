import { isDict, seqItems, type PyDict } from "../../formats/pickle/values.js";
import { readOptimizer, readScheduler } from "../torch-state.js";
import type { OptimizerView, Part, Progress, ScalerView, SchedulerView, WeightsFile } from "../types.js";
import { collectTensors } from "../walk.js";
import type { Dims } from "./rules.js";
import type { TagSummary } from "./summary.js";
import { attrs, boolAt, dictAt, intOf, numberAt } from "./values.js";

/** What a DeepSpeed tag provides to the checks that every layout feeds. */
export interface DeepSpeedParts {
  optimizer: Part<OptimizerView>;
  /** DeepSpeed's own scheduler (WarmupLR and friends: only last_batch_iteration); no other copy exists. */
  dsScheduler?: Part<SchedulerView>;
  /** A client torch scheduler's copy; under Trainer or Accelerate the host's own file is what gets loaded. */
  clientScheduler?: Part<SchedulerView>;
  /** Only with fp16: bf16 and fp32 runs scale no loss. */
  scaler?: Part<ScalerView>;
  progress?: Part<Progress>;
  weights: WeightsFile[];
}

export async function partsOf(s: TagSummary, d: Dims): Promise<DeepSpeedParts> {
  const ref = d.ref;
  return {
    optimizer: await optimizerOf(s, d),
    ...schedulerOf(ref?.dict, ref?.entry.rel ?? s.tag.rel, ref?.config),
    ...scalerOf(s, d),
    ...(ref?.globalSteps !== undefined ? { progress: { state: "present" as const, view: progressOf(ref.globalSteps, ref.skipped ?? 0, ref) } } : {}),
    weights: weightsOf(s),
  };
}

async function optimizerOf(s: TagSummary, d: Dims): Promise<Part<OptimizerView>> {
  const o = d.refOptim;
  if (o?.base) {
    const key = o.osd.has("base_optimizer_state") ? "optimizer_state_dict.base_optimizer_state" : o.entry.file.kind === "optim" ? "optimizer_state_dict.optimizer_state_dict" : "optimizer";
    const part = await readOptimizer(o.base, { where: `${o.entry.rel}: ${key}`, required: true }, o.entry.decoded!.scalar);
    if (part.state !== "present" || o.entry.file.kind !== "optim") return part;
    // A ZeRO partition's moments are one flat vector per group, not per parameter: they cannot be matched to weight shapes.
    return { state: "present", view: { ...part.view, className: `DeepSpeed ZeRO-${d.zeroStage ?? "?"} optimizer (flat partitions)`, momentShapes: [] } };
  }
  if (o && seqItems(o.osd.get("base_optimizer_state"))) return { state: "unavailable", reason: `${o.entry.rel} is an elastic checkpoint: its lean per-group optimizer states are not read` };
  if (o) return { state: "invalid", ref: { where: o.entry.rel, required: true }, reason: "it holds neither base_optimizer_state nor optimizer_state_dict as a torch optimizer state" };
  const ref = d.ref;
  const opt = ref?.dict.get("optimizer");
  if (ref && isDict(opt)) {
    // FP16_Optimizer wraps the torch state; without fp16 or bf16 it is the torch state itself.
    const inner = dictAt(opt, "optimizer_state_dict");
    return readOptimizer(inner ?? opt, { where: `${ref.entry.rel}: optimizer${inner ? ".optimizer_state_dict" : ""}`, required: true }, ref.entry.decoded!.scalar);
  }
  return { state: "missing", ref: { where: `${s.tag.name}: no optimizer partition files and no 'optimizer' in the model states`, required: true } };
}

/** Where DeepSpeed's schedulers start (lr_schedules.py): the LR of step 0, from the config they were built with. */
const START_LR = ["warmup_min_lr", "cycle_min_lr", "lr_range_test_min_lr"];

function schedulerOf(dict: PyDict | undefined, rel: string, config: PyDict | undefined): Pick<DeepSpeedParts, "dsScheduler" | "clientScheduler"> {
  const v = dict?.get("lr_scheduler");
  if (!isDict(v)) return {};
  const where = `${rel}: lr_scheduler`;
  const lbi = intOf(v.get("last_batch_iteration"));
  if (lbi === undefined) return { clientScheduler: readScheduler(v, { where, required: true }) };
  // DeepSpeed's schedulers start at -1 and step once per optimizer step: last_batch_iteration + 1 steps were taken.
  const fields = new Map(v.entries().filter((e): e is [string, typeof e[1]] => typeof e[0] === "string"));
  const params = dictAt(config, "scheduler", "params");
  const start = START_LR.map((k) => numberAt(params, k)).find((x) => x !== undefined);
  const view: SchedulerView = { ref: { where: `${where} (DeepSpeed scheduler: last_batch_iteration ${lbi} + 1)`, required: true }, lastEpoch: lbi + 1, lastLr: [], baseLrs: start === undefined ? [] : [start], fields };
  return { dsScheduler: { state: "present", view } };
}

function scalerOf(s: TagSummary, d: Dims): Pick<DeepSpeedParts, "scaler"> {
  const fp16 = boolAt(d.ref?.config, "fp16", "enabled");
  const o = d.refOptim;
  const scaler = attrs(o?.osd.get("loss_scaler"));
  const fp16Opt = attrs(d.ref?.dict.get("optimizer"));
  const source = scaler && (fp16 === true || scaler.get("dynamic") === true) ? { s: scaler, where: `${o!.entry.rel}: loss_scaler` } : fp16Opt?.has("cur_scale") ? { s: fp16Opt, where: `${d.ref!.entry.rel}: optimizer.cur_scale` } : undefined;
  if (source) return { scaler: { state: "present", view: { ref: { where: source.where, required: false }, empty: false, scale: numberAt(source.s, "cur_scale") } } };
  if (fp16 === true) return { scaler: { state: "missing", ref: { where: `${s.tag.name}: ds_config says fp16 but no loss scaler state`, required: false } } };
  return {};
}

function progressOf(globalSteps: number, skipped: number, ref: NonNullable<Dims["ref"]>): Progress {
  const ga = intOf(ref.config?.get("gradient_accumulation_steps"));
  return {
    globalStep: globalSteps,
    gradAccum: ga !== undefined && ga >= 1 ? ga : 1,
    gradAccumRecorded: ga !== undefined,
    // global_steps counts every optimizer boundary; Adam did not step on the fp16 overflows DeepSpeed skipped.
    expectedOptimizerSteps: globalSteps - skipped,
    formula: skipped > 0 ? `global_steps ${globalSteps} - skipped_steps ${skipped}` : `global_steps ${globalSteps}`,
    metrics: [],
    describe: `global_steps ${globalSteps}, skipped_steps ${skipped}${ref.samples !== undefined ? `, global_samples ${ref.samples}` : ""} (${ref.entry.name})`,
  };
}

/** ZeRO-1/2 model files hold the module's weights (ZeRO-3 only placeholders); pipeline layer and MoE expert files hold theirs. */
function weightsOf(s: TagSummary): WeightsFile[] {
  const out: WeightsFile[] = [];
  for (const m of s.models) {
    const module = m.dict.get("module");
    if (m.entry.file.kind !== "model" || !isDict(module)) continue;
    out.push({ rel: `${m.entry.rel}: module`, kind: "embedded", tensors: collectTensors(module), size: m.entry.spec.size ?? 0, verdicts: [], torchProblems: [] });
  }
  for (const e of s.tag.entries) if (e.weights) out.push(e.weights);
  return out;
}
