import type { Code } from "../findings/codes.js";
import type { Level } from "../findings/finding.js";
import type { PyValue } from "../formats/pickle/values.js";
import type { GlobalVerdict } from "../safety/globals.js";
import type { WeightsOnlyVerdict } from "../safety/weights-only.js";
import type { IntegrityResult } from "../integrity/scan.js";


/** A structural problem found while reading a file, as data (becomes a finding). */
export interface Problem {
  code: Code;
  data: Record<string, unknown>;
  file?: string;
}

/** A file the layout expects, and how it looked on disk. */
export interface ExpectedFile {
  /** Path relative to the checkpoint root (or the file name for single-file layouts). */
  rel: string;
  role: string;
  required: boolean;
  /** What the file must be, judged from its first bytes. */
  expect: "torch" | "safetensors" | "json" | "weights" | "any";
  /** Set by the layout after looking at the file: its size when usable, or what is wrong. */
  size?: number;
  problem?: Problem;
}

/** A pickled or JSON file that holds training state, decoded. */
export interface StateFile {
  rel: string;
  /** JSON state files (trainer_state.json) hold no pickle globals to judge. */
  json?: boolean;
  /** Set when the file failed the required-files look (missing, empty, LFS pointer...): not decoded. */
  unusable?: string;
  /** undefined when the file could not be decoded (see `problem`). */
  value?: PyValue;
  summary?: string;
  problem?: Problem;
  verdicts: GlobalVerdict[];
  /** Problems inside an otherwise decodable torch file (storage sizes, bounds). */
  torchProblems: Problem[];
}

/** Where a part of the state was looked for, and whether it must be there. */
export interface PartRef {
  where: string;
  required: boolean;
}

export interface Progress {
  epoch?: number;
  stepInEpoch?: number;
  batchesPerEpoch?: number;
  globalStep?: number;
  gradAccum: number;
  gradAccumRecorded: boolean;
  /** Optimizer steps the counters imply. */
  expectedOptimizerSteps?: number;
  /** How they were computed, for messages: "2 epochs × 1270 batches + 0". */
  formula?: string;
  /** Batches the resumed run skips (fast-forward). */
  stepsToSkip?: number;
  skipFormula?: string;
  /** Other counters to cross-check. */
  folderStep?: number;
  folderName?: string;
  logHistoryMaxStep?: number;
  loopOptimizerSteps?: number;
  /** Lightning steps schedulers once per epoch by default: last_epoch may count epochs instead of optimizer steps. */
  schedulerMayStepPerEpoch?: boolean;
  /** Accelerate steps the scheduler once per process for each optimizer step (unless split_batches): last_epoch = steps x this. */
  schedulerStepsPerOptimizerStep?: { factor: number; why: string };
  metrics: { key: string; value: number }[];
  /** A progress snapshot for the metadata pass message. */
  describe: string;
}

export interface OptimizerView {
  ref: PartRef;
  className?: string;
  /** Per parameter-state step values (undefined entries: state without step). */
  steps: { param: string; step: number | undefined }[];
  stateCount: number;
  paramCount: number;
  lr?: number;
  initialLr?: number;
  /** Scalar hyper-parameters of the first parameter group (lr, betas, eps, weight_decay, ...), as text. */
  hyper: Map<string, string>;
  /** Shapes of per-parameter moment tensors (exp_avg, momentum_buffer, ...), by param id. */
  momentShapes: { param: string; shape: number[] }[];
  /** Every per-parameter tensor but `step` (exp_avg, exp_avg_sq, momentum_buffer, ...) with its stored dtype. */
  moments?: { param: string; key: string; dtype: string }[];
}

export interface SchedulerView {
  ref: PartRef;
  /** Inferred scheduler kind ("CosineAnnealingLR", "LambdaLR", ...) or undefined. */
  kind?: string;
  lastEpoch?: number;
  stepCount?: number;
  lastLr: number[];
  baseLrs: number[];
  /** All numeric/simple fields of the state, for closed-form recomputation. */
  fields: Map<string, PyValue>;
}

export interface ScalerView {
  ref: PartRef;
  empty: boolean;
  scale?: number;
  growthTracker?: number;
}

export interface WeightTensor {
  name: string;
  dtype: string;
  shape: number[];
}

export interface WeightsFile {
  rel: string;
  /** "embedded": tensors inside a state file (Lightning's state_dict), whose globals the training-state check judges. */
  kind: "safetensors" | "torch" | "embedded";
  tensors: WeightTensor[];
  size: number;
  problem?: Problem;
  verdicts: GlobalVerdict[];
  torchProblems: Problem[];
}

export interface ShardIndex {
  rel: string;
  problem?: Problem;
  /** tensor name -> shard file (relative); read-only (readIndex's is two columns, see ShardMap in weights.ts) */
  weightMap: ReadonlyMap<string, string>;
}

export interface WeightsView {
  /** Candidate names when nothing was found. */
  candidates: string[];
  files: WeightsFile[];
  /** Weights files that failed the required-files look, so were not decoded. */
  unusable: string[];
  index?: ShardIndex;
  /** Shards the index names that are absent. */
  missingShards: string[];
}

/** A judgement a layout makes about a multi-rank save (a rank's file missing, ranks disagreeing on the step), as data. */
export interface RankFinding {
  level: Level;
  code: Code;
  data: Record<string, unknown>;
  file?: string;
}

/**
 * One save written by several ranks: a DeepSpeed tag, a torch.distributed.checkpoint
 * folder, Accelerate's per-process files, a Megatron iteration. The layout that
 * found it judges the rank files and their agreement (research/distributed-layouts.md);
 * the ranks check reports what it found.
 */
export interface ShardedSave {
  /** The format's name: "deepspeed", "dcp", "accelerate", "megatron". */
  format: string;
  /** Where it is, relative to the checkpoint root ("" = the root itself). */
  rel: string;
  /** Ranks that took part in the save. */
  worldSize?: number;
  dataParallel?: number;
  tensorParallel?: number;
  pipelineParallel?: number;
  expertParallel?: number;
  zeroStage?: number;
  /** The step the framework resumes at, when this save records it. */
  globalStep?: number;
  /** One line for people: "ZeRO-2, 4 data-parallel ranks x 1 model-parallel, global_steps 500". */
  describe: string;
  /**
   * Whether this format loads under another world size (`--world-size`): true when
   * it reshards (torch.distributed.checkpoint), false when it refuses (DeepSpeed
   * ZeRO without a universal checkpoint). Unset: the rank-state check warns.
   */
  reshards?: boolean;
  findings: RankFinding[];
}

export type Part<T> =
  | { state: "present"; view: T }
  | { state: "missing"; ref: PartRef }
  | { state: "invalid"; ref: PartRef; reason: string }
  | { state: "unavailable"; reason: string };

/**
 * What every layout reduces a checkpoint to. Checks read only this, so no
 * check needs to know which framework wrote the files.
 */
export interface NormalisedCheckpoint {
  /** The layout's name (layouts/index.ts). */
  layout: string;
  /** Why the layout was chosen. */
  reason: string;
  root: string;
  /** The path as given, and what it turned out to be. */
  pathStatus: { ok: true; kind: "a directory" | "a file" } | { ok: false; problem: Problem };
  expectedFiles: ExpectedFile[];
  stateFiles: StateFile[];
  /** Problems with the state's keys and types. */
  schemaProblems: Problem[];
  /** Keys found valid, for the pass message (empty when the layout has no schema). */
  schemaKeys: string[];
  progress: Part<Progress>;
  optimizer: Part<OptimizerView>;
  scheduler: Part<SchedulerView>;
  scaler: Part<ScalerView>;
  weights: WeightsView | undefined;
  config: { rel: string; text?: string; problem?: Problem } | undefined;
  /** Files named like a partial save (.tmp, .partial, ...). */
  leftovers: string[];
  /** --deep only: what reading every byte found, per file. */
  integrity?: IntegrityResult[];
  /** Files validated by the generic layout. */
  genericCount?: number;
  /** Multi-rank saves found (empty for single-process layouts); the first is the one the resume reads. */
  sharded: ShardedSave[];
  /** What the resume itself will do with these files (read by the layout; absent: nothing known). */
  resume?: ResumeView;
  /** Set when the path given was a run folder and this is the checkpoint its framework resumes from. */
  resolved?: { from: string; to: string; layout: string; framework: string; rule: string; others: string[] };
  /** Remote checkpoints: objects a read failed on, whatever the reader made of the failure. */
  readFailures?: { object: string; reason: string }[];
}

/** A file the resuming framework passes to torch.load, and how. */
export interface TorchLoad {
  rel: string;
  /** Who loads it: "Trainer._load_rng_state", "your training script". */
  by: string;
  /** The loader passes map_location, so storages saved on cuda:K need not exist on the resuming machine. */
  mapsLocation: boolean;
  /** Globals the framework allowlists around this load itself (transformers' safe_globals() for RNG files). */
  frameworkAllows?: { names: string[]; how: string };
  weightsOnly: WeightsOnlyVerdict;
  /** Storages by saved location ("cpu", "cuda:3"). */
  devices: Map<string, number>;
}

/** A path the training state recorded (a best checkpoint, a checkpoint folder), looked up as the framework would. */
export interface RecordedPath {
  /** Where it was recorded: "trainer_state.json: best_model_checkpoint". */
  where: string;
  path: string;
  exists: boolean;
  /** Not at the recorded path, but a file or folder of that name is next to this checkpoint (the run folder moved). */
  nextToCheckpoint?: string;
  /** What the resumed run does with a missing one. */
  consequence: string;
  /** Nothing reads it in this configuration (training_args.bin turns off what would): information, not a warning. */
  unused?: boolean;
}

/** A PEFT adapter_config.json, as the trainer's PeftModel will be built from it. */
export interface AdapterConfig {
  rel: string;
  problem?: string;
  r?: number;
  /** Per-module ranks (rank_pattern), by module-name pattern. */
  rankPattern: Map<string, number>;
  /** A list of module-name suffixes, or one regular expression (PEFT's two forms). */
  targetModules?: string[] | string;
}

/** What the resume itself will do: read by each layout, judged by the resume checks. */
export interface ResumeView {
  torchLoads: TorchLoad[];
  /** The configured end of training, as the state recorded it. */
  end?: { maxSteps?: number; numTrainEpochs?: number; epoch?: number; where: string };
  /** Non-finite values among the last logged losses and gradient norms. */
  loggedNonFinite: { where: string; key: string; value: number; step?: number }[];
  recordedPaths: RecordedPath[];
  /** Per-rank RNG files: how many ranks saved one, and the layout's judgement of them. */
  rng?: { ranks: number; files: string[]; findings: RankFinding[] };
  /** Trainer's ignore_data_skip: the resume does not replay the data loader. */
  ignoreDataSkip?: boolean;
  adapter?: AdapterConfig;
  /** Set by a layout that cannot name the training state's files (generic): the files holding an optimizer state_dict, and those holding any tensor. */
  optimizerFiles?: string[];
  tensorFiles?: string[];
}
