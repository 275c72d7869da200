import type { HarmlessEntry } from "./types.js";

/**
 * Known-harmless globals of Python's standard library: the values
 * checkpoints, hyper-parameter objects and configs hold. Everything else in
 * the standard library is denied by default (docs/globals.md, "The rule").
 * Each is here because loading it builds a value and runs no code the file
 * chooses; `use` says on which paths (types.ts, HarmlessUse).
 */

const VALUE_TYPE = "a plain value type: constructing it runs no user code";
const ATTRIBUTE_BAG = "a plain attribute container: unpickling only sets attributes";
const PATH = "a path value: constructing it touches no file";
const ENUM = "an enum class; its members are rebuilt from a name or value";

const builtins: HarmlessEntry[] = [
  ...["dict", "list", "tuple", "int", "float", "str", "bool", "bytes", "frozenset", "slice", "range"].map((t) => ({ qualname: `builtins.${t}`, reason: VALUE_TYPE })),
  { qualname: "builtins.object", reason: "the base class copyreg._reconstructor names for ordinary classes" },
  { qualname: "builtins.Ellipsis", reason: "the constant `...`, pickled by name", use: "reference" },
  { qualname: "builtins.NotImplemented", reason: "the constant NotImplemented, pickled by name", use: "reference" },
];

const collections: HarmlessEntry[] = [
  { qualname: "collections.defaultdict", reason: "a dict subclass; its default factory is a separate global judged on its own" },
  ...["deque", "ChainMap", "UserDict", "UserList", "UserString"].map((t) => ({ qualname: `collections.${t}`, reason: VALUE_TYPE })),
];

const values: HarmlessEntry[] = [
  ...["datetime", "date", "time", "timedelta", "timezone"].map((t) => ({ qualname: `datetime.${t}`, reason: VALUE_TYPE })),
  { qualname: "decimal.Decimal", reason: "a decimal number rebuilt from its string" },
  { qualname: "fractions.Fraction", reason: "a fraction rebuilt from its numerator and denominator" },
  { qualname: "uuid.UUID", reason: "a UUID value rebuilt from its 128-bit integer (the uuid module's command-running helpers stay unsafe)" },
  { qualname: "uuid.SafeUUID", reason: ENUM },
  { qualname: "random.Random", reason: "Python's random generator: constructed, then its state tuple is restored" },
  { qualname: "re._compile", reason: "how a compiled regular expression is pickled: compiles the pattern with its flags, matches nothing" },
  { qualname: "re.RegexFlag", reason: ENUM },
  { qualname: "array.array", reason: "a typed array of numbers rebuilt from its type code and items" },
  { qualname: "array._array_reconstructor", reason: "rebuilds an array.array from its type code and machine bytes (protocol 3 and later)" },
  { qualname: "logging.getLogger", reason: "how a Logger is pickled: returns the logger of that name, adding no handler and opening no file" },
  { qualname: "argparse.Namespace", reason: ATTRIBUTE_BAG },
  { qualname: "types.SimpleNamespace", reason: ATTRIBUTE_BAG },
];

const PATH_CLASSES = ["Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath"];
const paths: HarmlessEntry[] = [
  ...PATH_CLASSES.map((c) => ({ qualname: `pathlib.${c}`, reason: PATH })),
  ...PATH_CLASSES.map((c) => ({ qualname: `pathlib._local.${c}`, reason: `${PATH} (Python 3.13 module path)` })),
];

/** copyreg's constructors are judged call by call (calls.ts): harmless exactly when the class they build is. */
const reconstructors: HarmlessEntry[] = [
  { qualname: "copyreg._reconstructor", reason: "builds an instance of the class it is given; each call is judged by that class" },
  { qualname: "copyreg.__newobj__", reason: "calls cls.__new__; each call is judged by the class" },
  { qualname: "copyreg.__newobj_ex__", reason: "calls cls.__new__; each call is judged by the class" },
];

export const HARMLESS_STDLIB: readonly HarmlessEntry[] = [...builtins, ...collections, ...values, ...paths, ...reconstructors];
