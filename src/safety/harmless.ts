import { HARMLESS_STDLIB } from "./harmless-stdlib.js";
import { HARMLESS_TORCH, HARMLESS_TORCH_PATTERNS } from "./harmless-torch.js";
import type { HarmlessEntry, HarmlessPattern, HarmlessUse } from "./types.js";
import { DCP_HARMLESS } from "./harmless-dcp.js";
import { DEEPSPEED_HARMLESS } from "./harmless-deepspeed.js";

/**
 * Tier "harmless": globals real ML checkpoints hold that run no code of
 * consequence when loaded. Reported as information, never as a problem.
 * Each entry says why it is safe; docs/globals.md's tables are rendered from
 * these lists (`npm run docs:codes`). Anything else a user trusts goes in
 * with `--allow-global module.name`.
 *
 * A harmless file of its own (a framework's classes) exports a
 * `readonly HarmlessEntry[]` (types from ./types.js, never from this file, so
 * no import cycle) and is spread into HARMLESS_GLOBALS below with one line;
 * patterns likewise into HARMLESS_PATTERNS. Every listed name is judged
 * before the default deny of the standard library and torch, so a
 * torch.distributed.checkpoint class listed here passes.
 */

const ENUM = "an enum class; its members are rebuilt from a name or value";
const NUMPY_ARRAY = "rebuilds a numpy array from its shape, dtype and bytes";

const THIRD_PARTY: HarmlessEntry[] = [
  // numpy arrays and scalars (module moved from numpy.core to numpy._core in numpy 2)
  { qualname: "numpy.core.multiarray._reconstruct", reason: NUMPY_ARRAY },
  { qualname: "numpy._core.multiarray._reconstruct", reason: NUMPY_ARRAY },
  { qualname: "numpy.core.numeric._frombuffer", reason: "rebuilds a numpy array from a buffer (pickle protocol 5)" },
  { qualname: "numpy._core.numeric._frombuffer", reason: "rebuilds a numpy array from a buffer (pickle protocol 5)" },
  { qualname: "numpy.ndarray", reason: "the array type handed to _reconstruct" },
  { qualname: "numpy.dtype", reason: "a dtype built from a type code such as 'f4'" },
  { qualname: "numpy.core.multiarray.scalar", reason: "a numpy scalar from a dtype and its raw bytes" },
  { qualname: "numpy._core.multiarray.scalar", reason: "a numpy scalar from a dtype and its raw bytes" },
  { qualname: "numpy.random._pickle.__randomstate_ctor", reason: "rebuilds a numpy RandomState; the bit generator is looked up by name in numpy's own table" },
  { qualname: "numpy.random._pickle.__bit_generator_ctor", reason: "rebuilds a numpy bit generator looked up by name in numpy's own table" },
  { qualname: "numpy.random._pickle.__generator_ctor", reason: "rebuilds a numpy Generator around a bit generator from numpy's own table" },
  // Hugging Face transformers: training_args.bin is a pickled TrainingArguments
  // Rebuilt only: called, their __post_init__ sets up devices and distributed state.
  { qualname: "transformers.training_args.TrainingArguments", reason: "a dataclass of settings; unpickling only sets fields", use: "rebuild" },
  { qualname: "transformers.training_args_seq2seq.Seq2SeqTrainingArguments", reason: "a dataclass of settings; unpickling only sets fields", use: "rebuild" },
  { qualname: "transformers.trainer_pt_utils.AcceleratorConfig", reason: "a dataclass held by TrainingArguments.accelerator_config", use: "rebuild" },
  ...["IntervalStrategy", "SchedulerType", "HubStrategy", "SaveStrategy", "EvaluationStrategy", "FSDPOption", "ShardedDDPOption"].map((e) => ({
    qualname: `transformers.trainer_utils.${e}`,
    reason: ENUM,
  })),
  { qualname: "transformers.training_args.OptimizerNames", reason: ENUM },
  { qualname: "transformers.training_args.ParallelMode", reason: ENUM },
  { qualname: "transformers.debug_utils.DebugOption", reason: ENUM },
  // accelerate: enums TrainingArguments and accelerate's own state files hold
  ...["DistributedType", "DynamoBackend", "PrecisionType", "RNGType", "ComputeEnvironment", "SageMakerDistributedType", "LoggerType"].map((e) => ({
    qualname: `accelerate.utils.dataclasses.${e}`,
    reason: ENUM,
  })),
  { qualname: "accelerate.state.PartialState", reason: "process and device facts; unpickling only sets attributes (no __init__ runs)", use: "rebuild" },
  // Lightning hyper-parameters
  ...["pytorch_lightning.utilities.parsing", "lightning.pytorch.utilities.parsing", "lightning.fabric.utilities.data", "lightning_fabric.utilities.data"].map((m) => ({
    qualname: `${m}.AttributeDict`,
    reason: "Lightning's hyper-parameter dict: a dict subclass with attribute access",
  })),
  ...DEEPSPEED_HARMLESS,
  // torch.distributed.checkpoint, Megatron-LM and Accelerate state files
  ...DCP_HARMLESS,
];

export const HARMLESS_GLOBALS: readonly HarmlessEntry[] = [
  ...THIRD_PARTY,
  ...HARMLESS_STDLIB,
  ...HARMLESS_TORCH,
];

export const HARMLESS_PATTERNS: readonly HarmlessPattern[] = [
  // numpy >= 1.25 pickles dtypes through their classes (numpy.dtypes.Float32DType, ...).
  { pattern: /^numpy\.dtypes\.[A-Za-z0-9]+DType$/, label: "numpy.dtypes.*DType", reason: "a numpy dtype class (numpy >= 1.25)" },
  ...HARMLESS_TORCH_PATTERNS,
];

const BY_NAME: ReadonlyMap<string, HarmlessEntry> = new Map(HARMLESS_GLOBALS.map((e) => [e.qualname, e]));

/** The harmless entry (or pattern) naming `qualname`, with how it may be used. */
export function harmlessEntry(qualname: string): { reason: string; use: HarmlessUse } | undefined {
  const hit = BY_NAME.get(qualname) ?? HARMLESS_PATTERNS.find((p) => p.pattern.test(qualname));
  return hit === undefined ? undefined : { reason: hit.reason, use: hit.use ?? "any" };
}
