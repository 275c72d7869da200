/**
 * Tier "harmless": globals real ML checkpoints hold that run no code of
 * consequence when loaded. Reported as information, never as a problem.
 * The list is deliberately short; each entry says why it is safe, and the
 * docs (docs/globals.md) are rendered from it. Anything else a user trusts
 * goes in with `--allow-global module.name`.
 */

import { DCP_HARMLESS } from "./harmless-dcp.js";

export interface HarmlessEntry {
  qualname: string;
  reason: string;
}

const VALUE_TYPE = "a plain value type: constructing it runs no user code";
const ENUM = "an enum class; its members are rebuilt from a name or value";
const ATTRIBUTE_BAG = "a plain attribute container: unpickling only sets attributes";
const PATH = "a path value: constructing it touches no file";
const NUMPY_ARRAY = "rebuilds a numpy array from its shape, dtype and bytes";

export const HARMLESS_GLOBALS: readonly HarmlessEntry[] = [
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
  // Python value types
  ...["dict", "list", "tuple", "int", "float", "str", "bool", "bytes", "frozenset", "slice", "range"].map((t) => ({ qualname: `builtins.${t}`, reason: VALUE_TYPE })),
  { qualname: "builtins.object", reason: "the base class copyreg._reconstructor names for ordinary classes" },
  { qualname: "collections.defaultdict", reason: "a dict subclass; its default factory is a separate global judged on its own" },
  { qualname: "collections.deque", reason: VALUE_TYPE },
  ...["datetime", "date", "time", "timedelta", "timezone"].map((t) => ({ qualname: `datetime.${t}`, reason: VALUE_TYPE })),
  { qualname: "argparse.Namespace", reason: ATTRIBUTE_BAG },
  { qualname: "types.SimpleNamespace", reason: ATTRIBUTE_BAG },
  ...["Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath"].flatMap((c) => [
    { qualname: `pathlib.${c}`, reason: PATH },
    { qualname: `pathlib._local.${c}`, reason: `${PATH} (Python 3.13 module path)` },
  ]),
  // Constructors judged call by call (calls.ts): harmless exactly when the class they build is.
  { qualname: "copyreg._reconstructor", reason: "builds an instance of the class it is given; each call is judged by that class" },
  { qualname: "copyreg.__newobj__", reason: "calls cls.__new__; each call is judged by the class" },
  { qualname: "copyreg.__newobj_ex__", reason: "calls cls.__new__; each call is judged by the class" },
  { qualname: "torch.torch_version.TorchVersion", reason: "the str subclass torch.__version__ is; saved when a run records its torch version" },
  // Hugging Face transformers: training_args.bin is a pickled TrainingArguments
  { qualname: "transformers.training_args.TrainingArguments", reason: "a dataclass of settings; unpickling only sets fields" },
  { qualname: "transformers.training_args_seq2seq.Seq2SeqTrainingArguments", reason: "a dataclass of settings; unpickling only sets fields" },
  { qualname: "transformers.trainer_pt_utils.AcceleratorConfig", reason: "a dataclass held by TrainingArguments.accelerator_config" },
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
  { qualname: "accelerate.state.PartialState", reason: "process and device facts; unpickling only sets attributes (no __init__ runs)" },
  // Lightning hyper-parameters
  ...["pytorch_lightning.utilities.parsing", "lightning.pytorch.utilities.parsing", "lightning.fabric.utilities.data", "lightning_fabric.utilities.data"].map((m) => ({
    qualname: `${m}.AttributeDict`,
    reason: "Lightning's hyper-parameter dict: a dict subclass with attribute access",
  })),
  // torch.distributed.checkpoint, Megatron-LM and Accelerate state files
  ...DCP_HARMLESS,
];

/** numpy >= 1.25 pickles dtypes through their classes (numpy.dtypes.Float32DType, ...). */
export const HARMLESS_PATTERNS: readonly { pattern: RegExp; label: string; reason: string }[] = [
  { pattern: /^numpy\.dtypes\.[A-Za-z0-9]+DType$/, label: "numpy.dtypes.*DType", reason: "a numpy dtype class (numpy >= 1.25)" },
  {
    // torch 1.13's OneCycleLR.state_dict() holds a bound method, so a real scheduler file pickles the scheduler and its optimizer objects.
    pattern: /^torch\.optim\.(lr_scheduler\.[A-Z]\w*LR\w*|(sgd|adam|adamw|adagrad|adadelta|adamax|asgd|nadam|radam|rmsprop|rprop|lbfgs|sparse_adam)\.[A-Z]\w*)$/,
    label: "torch.optim.<module>.<Optimizer> and torch.optim.lr_scheduler.<Scheduler>",
    reason: "a torch optimizer or LR scheduler class, rebuilt without running __init__ (state set from the pickle)",
  },
];

export const HARMLESS_BY_NAME: ReadonlyMap<string, string> = new Map(HARMLESS_GLOBALS.map((e) => [e.qualname, e.reason]));
