/**
 * Tier "unsafe": modules and functions that run code, spawn processes, touch
 * the network or files, load further pickles, or hand out arbitrary objects.
 * At least as complete as picklescan's `_unsafe_globals`, modelscan's
 * `unsafe_globals` (settings.py) and fickling's `UNSAFE_IMPORTS` (the versions
 * read are in docs/globals.md), plus the advisories against them (profilers,
 * debuggers, package tools, torch/numpy modules that compile or run code).
 * Unlike the default deny of the standard library and torch, nothing here can
 * be lifted with --allow-global; a known-harmless entry inside a listed module
 * (uuid.UUID, logging.getLogger, copyreg._reconstructor) is judged first.
 *
 * An entry matches a qualname on whole dotted components: "torch._inductor"
 * matches "torch._inductor.codecache.compile_file" but not "torch._inductor_x".
 * Whole modules are listed where no member is worth allowing.
 */

const SHELL = "runs shell commands or starts processes";
const EXEC = "executes Python code it is given";
const IMPORT = "imports arbitrary modules";
const NESTED_LOAD = "loads another pickle (or similar) without restrictions";
const NETWORK = "opens network connections";
const FILES = "reads, writes or deletes files";
const DEBUG = "a debugger/profiler/REPL entry point that runs the code it is given";
const PACKAGES = "installs packages or runs build steps";
const NATIVE = "loads native libraries or calls C functions";
const REFLECT = "reaches arbitrary attributes or builds callables: a building block of code-execution chains";
const INTERPRETER = "changes or exits the interpreter (sys.modules, sys.exit, ...)";
const TORCH_CODE = "a torch module that compiles, downloads or runs code";
const LATER = "registers a callable to run later (at exit, on a schedule, when an object is freed)";

/** A name, or a name with a reason more precise than its group's. */
export type UnsafeEntry = string | readonly [string, string];

const groups: [string, UnsafeEntry[]][] = [
  [SHELL, [
    "os", "posix", "nt", "_posixsubprocess", "_winapi", "msvcrt", "winreg", "_winreg", "subprocess",
    "commands", "popen2", "pty", "platform", "pipes", "mailcap", "_osx_support", "_aix_support",
    "asyncio", "multiprocessing", "concurrent", "threading", "_thread", "thread", "signal", "_signal", "pexpect",
    ["uuid", "the uuid module's node lookups run ifconfig, ip, arp, netstat or lanscan (uuid.UUID and uuid.SafeUUID are known harmless)"],
    ["test", "CPython's test package: test.support.script_helper runs the interpreter with the arguments it is given"],
    "torch.multiprocessing",
  ]],
  [INTERPRETER, ["sys", "gc", "builtins.exit", "builtins.quit", "_sitebuiltins", "site"]],
  [EXEC, [
    "builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile", "builtins.apply",
    "builtins.__build_class__", "builtins.input", "builtins.raw_input",
    "code", "codeop", "runpy", "doctest", "timeit", "numpy.testing",
    ["builtins", "standard-library callable outside the known-harmless list: the interpreter's built-ins (eval, exec, open, __import__, ...) are on the unsafe list as a whole, as fickling lists them; the value types on the harmless list are judged first"],
    ["_interpreters", "runs source code in a subinterpreter"], ["_xxsubinterpreters", "runs source code in a subinterpreter"],
    ["_interpchannels", "a subinterpreter channel"], ["_interpqueues", "a subinterpreter queue"], ["_xxinterpchannels", "a subinterpreter channel"],
    ["dataclasses._create_fn", "compiles and executes generated source code"],
    ["typing.get_type_hints", "evaluates string annotations as Python expressions"], ["typing._eval_type", "evaluates string annotations as Python expressions"],
    ["typing.ForwardRef", "evaluates its string as a Python expression"],
    ["tkinter", "evaluates Tcl, which runs shell commands"], ["_tkinter", "evaluates Tcl, which runs shell commands"],
  ]],
  [IMPORT, [
    "builtins.__import__", "builtins.reload", "importlib", "imp", "zipimport", "pkgutil", "pkg_resources",
    "_imp", "_frozen_importlib", "_frozen_importlib_external",
    ["unittest", "its test loaders import modules by name and unittest.mock patches any attribute"],
  ]],
  [DEBUG, [
    "builtins.breakpoint", "builtins.help", "pdb", "bdb", "trace", "cProfile", "profile", "idlelib",
    "pydoc", "IPython", "_pyrepl", "torch.utils.bottleneck",
  ]],
  [NESTED_LOAD, [
    "pickle", "_pickle", "cPickle", "cloudpickle", "dill", "joblib", "shelve", "marshal", "jsonpickle",
    "copyreg", "copy_reg", "torch.load", "torch.serialization.load", "torch.storage._load_from_bytes",
    "numpy.load", "numpy.lib.npyio.load", "numpy.lib._npyio_impl.load", "pandas.read_pickle", "pandas.io.pickle",
    "yaml.load", "yaml.load_all", "yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load", "yaml.full_load_all",
    ["lib2to3", "lib2to3's grammar loader (pgen2.grammar.Grammar.load/loads) unpickles what it is given, and its parser generator evaluates grammar labels"],
    ["torch.utils._config_module", "ConfigModule.load_config unpickles the bytes it is given"],
    ["torch.utils.data.datapipes.utils.decoder", "the datapipe decoders unpickle (basichandlers) or torch.load (torch_loader) the bytes they are given"],
  ]],
  [NETWORK, [
    "socket", "_socket", "ssl", "select", "selectors", "http", "httplib", "urllib", "urllib2", "urllib3",
    "requests", "aiohttp", "httpx", "ftplib", "smtplib", "telnetlib", "poplib", "imaplib", "nntplib",
    "xmlrpc", "xmlrpclib", "socketserver", "SocketServer", "asyncore", "asynchat", "webbrowser", "paramiko",
    "torch.distributed.rpc",
  ]],
  [FILES, [
    "builtins.open", "builtins.file", "io.open", "io.open_code", "io.FileIO", "_io.open", "_io.open_code",
    "_io.FileIO", "codecs.open", "shutil", "tempfile", "glob", "fileinput", "compileall", "py_compile",
    "filecmp", "linecache", "difflib", "mmap", "sqlite3", "_sqlite3", "tarfile", "zipfile", "syslog",
    "gzip.open", "bz2.open", "lzma.open",
    ["logging", "logging's handlers open files and sockets, and logging.config builds whatever its configuration names (logging.getLogger is known harmless)"],
    "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.memmap", "numpy.fromfile",
    "torch.save", "torch.serialization.save",
  ]],
  [PACKAGES, ["pip", "ensurepip", "venv", "virtualenv", "distutils", "setuptools", "numpy.distutils", "numpy.f2py"]],
  [NATIVE, ["ctypes", "_ctypes", "cffi", "numpy.ctypeslib", "torch.ops", "torch.classes", "torch.utils.cpp_extension"]],
  [REFLECT, [
    "builtins.setattr", "builtins.delattr", "builtins.hasattr", "builtins.globals", "builtins.locals", "builtins.vars",
    "operator", "_operator", "functools", "_functools", "types", "inspect",
    ["string.Formatter", "its format fields walk attributes and items of the objects it is given"],
  ]],
  [LATER, ["atexit", "sched", "weakref.finalize"]],
  [TORCH_CODE, [
    "torch.jit", "torch.hub", "torch._inductor", "torch._dynamo", "torch.compile", "torch.fx", "torch.package",
    "torch.utils.collect_env", "torch.testing", "torch.export", "torch._export",
  ]],
];

/** Dotted prefix -> reason. */
export const UNSAFE_PREFIXES: ReadonlyMap<string, string> = new Map(
  groups.flatMap(([reason, entries]) => entries.map((e) => (typeof e === "string" ? ([e, reason] as const) : e))),
);

/** The groups as listed, for docs/globals.md: each group's reason and its entries (with their own reasons where they have one). */
export const UNSAFE_GROUPS: readonly { reason: string; entries: readonly UnsafeEntry[] }[] = groups.map(([reason, entries]) => ({ reason, entries }));

/**
 * Names unsafe wherever they sit: every torch config module (torch._dynamo.config,
 * torch._functorch.config, ...) is a ConfigModule whose bound load_config unpickles.
 */
export const UNSAFE_NAME_PATTERNS: readonly { pattern: RegExp; label: string; reason: string }[] = [
  { pattern: /^(?:torch|functorch)\..*\.load_config$/, label: "torch.*.load_config", reason: "a torch config module's load_config unpickles the bytes it is given" },
];

/** The longest listed prefix of `qualname` (on dotted components), with its reason. */
export function matchUnsafePrefix(parts: readonly string[]): { prefix: string; reason: string } | undefined {
  for (let k = parts.length; k >= 1; k--) {
    const prefix = parts.slice(0, k).join(".");
    const reason = UNSAFE_PREFIXES.get(prefix);
    if (reason !== undefined) return { prefix, reason };
  }
  return undefined;
}
