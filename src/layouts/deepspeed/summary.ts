import { isDict, type PyDict } from "../../formats/pickle/values.js";
import { numberOf } from "../torch-state.js";
import type { RankEntry, TagRead } from "./tag.js";
import { dictAt, intList, intOf, paramShapes, zeroStageOf, type ParamShape } from "./values.js";

/** What a model_states file records (engine._save_checkpoint; research §1.2). */
export interface ModelInfo {
  entry: RankEntry;
  dict: PyDict;
  globalSteps?: number;
  skipped?: number;
  samples?: number;
  dp?: number;
  mp?: number;
  config?: PyDict;
  version?: string;
  shapes?: ParamShape[][];
  /** Lightning's own counter, when Lightning's keys were merged in as client state. */
  lightningStep?: number;
  numExperts?: number[];
  /** [DS26] checkpoint_parallel_dimensions. */
  parallel?: { tp?: number; pp?: number };
}

/** What an optimizer file records (stage_1_and_2 / stage3 / bf16_optimizer state_dict; research §1.3). */
export interface OptimInfo {
  entry: RankEntry;
  /** optimizer_state_dict (ZeRO, BF16_Optimizer) or `optimizer` (MoE without ZeRO). */
  osd: PyDict;
  stage?: number;
  /** BF16_Optimizer writes no zero_stage and keeps the padding inside its fp32 partitions. */
  bf16Optimizer: boolean;
  partitionCount?: number;
  version?: string;
  /** The torch optimizer state over the flat partitions. */
  base?: PyDict;
  /** Adam's step per state entry, in order. */
  steps: (number | undefined)[];
}

/** Reading a step is a 4-byte read when it is a tensor; a file with more groups than this is judged by its first ones. */
const MAX_STEPS_PER_FILE = 64;

export function modelInfo(entry: RankEntry): ModelInfo | undefined {
  const d = entry.decoded?.value;
  if (!isDict(d)) return undefined;
  const dims = dictAt(d, "checkpoint_parallel_dimensions");
  const experts = intList(d.get("num_experts"));
  return {
    entry,
    dict: d,
    globalSteps: intOf(d.get("global_steps")),
    skipped: intOf(d.get("skipped_steps")),
    samples: intOf(d.get("global_samples")),
    dp: intOf(d.get("dp_world_size")),
    mp: intOf(d.get("mp_world_size")),
    config: dictAt(d, "ds_config"),
    version: typeof d.get("ds_version") === "string" ? (d.get("ds_version") as string) : undefined,
    shapes: paramShapes(d.get("param_shapes")),
    lightningStep: d.has("pytorch-lightning_version") ? intOf(d.get("global_step")) : undefined,
    ...(experts ? { numExperts: experts } : {}),
    ...(dims ? { parallel: { tp: intOf(dims.get("tp_degree")), pp: intOf(dims.get("pp_degree")) } } : {}),
  };
}

export async function optimInfo(entry: RankEntry): Promise<OptimInfo | undefined> {
  const d = entry.decoded?.value;
  const osd = dictAt(d, "optimizer_state_dict") ?? dictAt(d, "optimizer");
  if (!osd) return undefined;
  // ZeRO-1/2 and BF16_Optimizer: base_optimizer_state; ZeRO-3: optimizer_state_dict; MoE: the torch state itself.
  const base = dictAt(osd, "base_optimizer_state") ?? dictAt(osd, "optimizer_state_dict") ?? (isDict(osd.get("state")) ? osd : undefined);
  const counts = intList(osd.get("partition_count"));
  const states = dictAt(base, "state")?.entries().slice(0, MAX_STEPS_PER_FILE) ?? [];
  const scalar = entry.decoded!.scalar;
  // elastic_checkpoint keeps a list of lean per-group states and one step beside it.
  const steps = osd.has("base_optimizer_state_step") && !base
    ? [await numberOf(osd.get("base_optimizer_state_step"), scalar)]
    : await Promise.all(states.map(([, s]) => (isDict(s) ? numberOf(s.get("step"), scalar) : Promise.resolve(undefined))));
  return {
    entry,
    osd,
    stage: zeroStageOf(osd.get("zero_stage")),
    bf16Optimizer: !osd.has("zero_stage") && osd.has("single_partition_of_fp32_groups"),
    partitionCount: counts && counts.length > 0 ? counts.reduce((a, b) => Math.max(a, b)) : undefined,
    version: typeof osd.get("ds_version") === "string" ? (osd.get("ds_version") as string) : undefined,
    base,
    steps,
  };
}

export interface TagSummary {
  tag: TagRead;
  models: ModelInfo[];
  optims: OptimInfo[];
}

export async function summarise(tag: TagRead): Promise<TagSummary> {
  const isModel = (e: RankEntry) => e.file.kind === "model" || e.file.kind === "zero-model";
  const isOptim = (e: RankEntry) => e.file.kind === "optim" || e.file.kind === "expert-optim";
  const models = tag.entries.filter(isModel).map(modelInfo).filter((m): m is ModelInfo => m !== undefined);
  const optims = (await Promise.all(tag.entries.filter(isOptim).map(optimInfo))).filter((o): o is OptimInfo => o !== undefined);
  return { tag, models, optims };
}
