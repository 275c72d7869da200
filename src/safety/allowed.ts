/**
 * Tier "allowed": exactly what torch's weights_only unpickler accepts by
 * default (torch/_weights_only_unpickler.py `_get_allowed_globals`, see
 * formats.md section 3). A checkpoint holding only these loads with
 * `torch.load(weights_only=True)`, which is the bar the original pipeline set.
 */

const LEGACY_DTYPES = [
  "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
  "complex32", "complex64", "complex128", "bool", "qint8", "quint8", "qint32",
  "bfloat16", "quint4x2", "quint2x4",
];
const NEW_DTYPES = [
  "float8_e5m2", "float8_e4m3fn", "float8_e5m2fnuz", "float8_e4m3fnuz", "float8_e8m0fnu",
  "float4_e2m1fn_x2", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
  "uint16", "uint32", "uint64", "quint2x4",
];
const SUB_BYTE_INTS = [1, 2, 3, 4, 5, 6, 7].flatMap((n) => [`uint${n}`, `int${n}`]);

/** Element types of the legacy `torch.<X>Storage` / `torch.<X>Tensor` classes. */
const LEGACY_STORAGE_KINDS = [
  "Double", "Float", "Half", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16",
  "ComplexDouble", "ComplexFloat", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4",
];
/** torch._tensor_classes: the legacy tensor types, CPU and CUDA. */
const LEGACY_TENSOR_KINDS = ["Double", "Float", "Half", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16"];

const REBUILD_FUNCTIONS = [
  "_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor",
  "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_sparse_tensor",
  "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
  "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
  // Present in 2.10, removed on main; harmless either way.
  "_rebuild_nested_tensor",
];

const QSCHEMES = ["per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams"];

export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  "collections.OrderedDict",
  "collections.Counter",
  "torch.nn.parameter.Parameter",
  "torch.serialization._get_layout",
  "torch.Size",
  "torch.Tensor",
  "torch.device",
  "_codecs.encode",
  "builtins.bytearray",
  "builtins.set",
  "builtins.complex",
  ...[...LEGACY_DTYPES, ...NEW_DTYPES, ...SUB_BYTE_INTS].map((d) => `torch.${d}`),
  ...LEGACY_TENSOR_KINDS.flatMap((k) => [`torch.${k}Tensor`, `torch.cuda.${k}Tensor`]),
  ...LEGACY_STORAGE_KINDS.flatMap((k) => [`torch.${k}Storage`, `torch.cuda.${k}Storage`]),
  "torch.storage.TypedStorage",
  "torch.storage.UntypedStorage",
  "torch.TypedStorage",
  "torch.UntypedStorage",
  ...QSCHEMES.map((q) => `torch.${q}`),
  ...REBUILD_FUNCTIONS.map((f) => `torch._utils.${f}`),
  "torch._tensor._rebuild_from_type_v2",
]);

export const ALLOWED_REASON = "accepted by torch.load(weights_only=True)";
