/**
 * Tier "unsafe": modules and functions that run code, spawn processes, touch
 * the network or files, load further pickles, or hand out arbitrary objects.
 * At least as complete as picklescan's `_unsafe_globals` and modelscan's
 * `unsafe_globals` (settings.py), plus the advisories against them (profilers,
 * debuggers, package tools, torch/numpy modules that compile or run code).
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

const groups: [string, string[]][] = [
  [SHELL, [
    "os", "posix", "nt", "_posixsubprocess", "_winapi", "msvcrt", "winreg", "_winreg", "subprocess",
    "commands", "popen2", "pty", "platform", "pipes", "mailcap", "_osx_support", "_aix_support",
    "asyncio", "multiprocessing", "concurrent", "threading", "_thread", "thread", "signal",
    "uuid._get_command_stdout", "torch.multiprocessing",
  ]],
  [INTERPRETER, ["sys", "gc", "builtins.exit", "builtins.quit", "_sitebuiltins", "site"]],
  [EXEC, [
    "builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile", "builtins.apply",
    "builtins.__build_class__", "builtins.input", "builtins.raw_input",
    "code", "codeop", "runpy", "doctest", "timeit", "numpy.testing",
  ]],
  [IMPORT, ["builtins.__import__", "builtins.reload", "importlib", "imp", "zipimport", "pkgutil", "pkg_resources"]],
  [DEBUG, [
    "builtins.breakpoint", "builtins.help", "pdb", "bdb", "trace", "cProfile", "profile", "idlelib",
    "pydoc", "IPython", "_pyrepl", "torch.utils.bottleneck",
  ]],
  [NESTED_LOAD, [
    "pickle", "_pickle", "cPickle", "cloudpickle", "dill", "joblib", "shelve", "marshal", "jsonpickle",
    "copyreg", "copy_reg", "torch.load", "torch.serialization.load", "torch.storage._load_from_bytes",
    "numpy.load", "numpy.lib.npyio.load", "numpy.lib._npyio_impl.load", "pandas.read_pickle", "pandas.io.pickle",
    "yaml.load", "yaml.load_all", "yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load", "yaml.full_load_all",
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
    "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.memmap", "numpy.fromfile",
    "torch.save", "torch.serialization.save",
  ]],
  [PACKAGES, ["pip", "ensurepip", "venv", "virtualenv", "distutils", "setuptools", "numpy.distutils", "numpy.f2py"]],
  [NATIVE, ["ctypes", "_ctypes", "cffi", "numpy.ctypeslib", "torch.ops", "torch.classes", "torch.utils.cpp_extension"]],
  [REFLECT, [
    "builtins.setattr", "builtins.delattr", "builtins.globals", "builtins.locals", "builtins.vars",
    "operator.attrgetter", "operator.methodcaller", "operator.itemgetter", "functools.reduce",
    "functools.partialmethod", "types",
  ]],
  [TORCH_CODE, [
    "torch.jit", "torch.hub", "torch._inductor", "torch._dynamo", "torch.compile", "torch.fx", "torch.package",
    "torch.utils.collect_env", "torch.testing", "torch.export", "torch._export",
  ]],
];

/** Dotted prefix -> reason. */
export const UNSAFE_PREFIXES: ReadonlyMap<string, string> = new Map(groups.flatMap(([reason, names]) => names.map((n) => [n, reason] as const)));

/** The longest listed prefix of `qualname` (on dotted components), with its reason. */
export function matchUnsafePrefix(parts: readonly string[]): { prefix: string; reason: string } | undefined {
  for (let k = parts.length; k >= 1; k--) {
    const prefix = parts.slice(0, k).join(".");
    const reason = UNSAFE_PREFIXES.get(prefix);
    if (reason !== undefined) return { prefix, reason };
  }
  return undefined;
}
