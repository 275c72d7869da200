import type { HarmlessEntry, HarmlessPattern } from "./types.js";

/**
 * Known-harmless torch globals outside torch's weights_only allow-list: what
 * whole-model and whole-optimizer pickles (`torch.save(model)`) and
 * hyper-parameter objects hold. Everything else under torch is denied by
 * default (docs/globals.md, "The rule"). Distributed formats plug their own
 * files into harmless.ts.
 */

const REBUILT = "rebuilt without running __init__; its state is set from the pickle";
const TENSOR_FUNCTION = "a torch tensor function (an activation, loss or layer op) stored as a value, as modules and hyper-parameters hold them";

/** torch.nn.functional names a model or its hyper-parameters store as values; the native ones pickle from torch._C._nn. */
const FUNCTIONAL = [
  "relu", "relu6", "elu", "selu", "celu", "gelu", "silu", "mish", "leaky_relu", "prelu", "rrelu", "glu", "hardtanh",
  "hardswish", "hardsigmoid", "hardshrink", "softshrink", "tanhshrink", "softsign", "softplus", "softmin", "softmax",
  "log_softmax", "gumbel_softmax", "sigmoid", "tanh", "logsigmoid", "log_sigmoid", "threshold", "_threshold",
  "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
  "smooth_l1_loss", "huber_loss", "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "cosine_embedding_loss",
  "hinge_embedding_loss", "margin_ranking_loss", "multi_margin_loss", "multilabel_margin_loss",
  "multilabel_soft_margin_loss", "soft_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
  "ctc_loss", "cosine_similarity", "pairwise_distance", "normalize", "dropout", "layer_norm", "group_norm",
  "batch_norm", "instance_norm", "linear", "one_hot",
];

/** torch.nn.init's initialisers (a pattern would also match the modules it imports, torch.nn.init.torch among them). */
const INIT = [
  "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_",
  "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_", "uniform", "normal", "constant", "xavier_uniform", "xavier_normal",
  "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
];

export const HARMLESS_TORCH: readonly HarmlessEntry[] = [
  { qualname: "torch.torch_version.TorchVersion", reason: "the str subclass torch.__version__ is; saved when a run records its torch version" },
  ...["torch.nn.functional", "torch._C._nn"].flatMap((m) => FUNCTIONAL.map((f) => ({ qualname: `${m}.${f}`, reason: TENSOR_FUNCTION, use: "reference" as const }))),
  ...INIT.map((f) => ({ qualname: `torch.nn.init.${f}`, reason: "a torch weight initialiser stored as a value (a model's or its hyper-parameters' init function)", use: "reference" as const })),
  { qualname: "torch.Generator", reason: "a torch random generator, rebuilt from its device and then its state bytes (torch 2.x pickles generators)" },
  {
    qualname: "torch._C._VariableFunctionsClass",
    reason: "the class of torch's native functions: torch.tanh is pickled as getattr(it, 'tanh'); only looked up, never called",
    use: "reference",
  },
  ...["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"].map((f) => ({
    qualname: `torch.${f}`,
    reason: "a torch memory-format constant, pickled by name",
    use: "reference" as const,
  })),
  ...["torch.cuda.amp.grad_scaler", "torch.amp.grad_scaler", "torch.cpu.amp.grad_scaler"].map((m) => ({
    qualname: `${m}.GradScaler`,
    reason: `the AMP gradient scaler object, ${REBUILT}`,
    use: "rebuild" as const,
  })),
  { qualname: "torch.nn.utils.weight_norm.WeightNorm", reason: `the hook weight_norm() adds to a module, ${REBUILT}`, use: "rebuild" },
  ...["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook"].map((c) => ({
    qualname: `torch.nn.utils.spectral_norm.${c}`,
    reason: `a hook spectral_norm() adds to a module, ${REBUILT}`,
    use: "rebuild" as const,
  })),
  { qualname: "torch.nn.parallel.data_parallel.DataParallel", reason: `a model saved inside its DataParallel wrapper, ${REBUILT}`, use: "rebuild" },
  { qualname: "torch.nn.modules.module._WrappedHook", reason: `the wrapper torch keeps around a module's state-dict hook, ${REBUILT}; the hook is a global judged on its own`, use: "rebuild" },
];

export const HARMLESS_TORCH_PATTERNS: readonly HarmlessPattern[] = [
  {
    // Two letters at least: the submodules also hold `F` (torch.nn.functional itself), which is no class.
    pattern: /^torch\.nn\.modules\.[a-z][a-z0-9_]*\.[A-Z][A-Za-z0-9_]+$/,
    label: "torch.nn.modules.<module>.<Class>",
    reason: `a torch.nn layer or container of a whole-model pickle, ${REBUILT}`,
    use: "rebuild",
  },
  {
    pattern: /^torch\.nn\.utils\.prune\.[A-Z][A-Za-z0-9_]+$/,
    label: "torch.nn.utils.prune.<PruningMethod>",
    reason: `the pruning hook torch.nn.utils.prune adds to a module (a pruned model saved whole), ${REBUILT}`,
    use: "rebuild",
  },
  {
    // Accelerate saves its sampler with torch.save, and the sampler holds its dataset.
    pattern: /^torch\.utils\.data\.(?:sampler|dataset)\.[A-Z][A-Za-z0-9_]+$/,
    label: "torch.utils.data.sampler.<Sampler> and torch.utils.data.dataset.<Dataset>",
    reason: `a torch data sampler or dataset (a sampler holds its dataset), ${REBUILT}`,
    use: "rebuild",
  },
  {
    // torch 1.13's OneCycleLR.state_dict() holds a bound method, so a real scheduler file pickles the scheduler and its optimizer objects.
    pattern: /^torch\.optim\.[a-z_][a-z0-9_]*\.[A-Z][A-Za-z0-9_]+$/,
    label: "torch.optim.<module>.<Optimizer or Scheduler>",
    reason: `a torch optimizer or LR scheduler class, ${REBUILT}`,
    use: "rebuild",
  },
];
