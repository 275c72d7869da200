/**
 * Issue 16 (mutation testing of src/safety): what judgePickle and the call
 * analysis report, down to counts, offsets and reasons. Expected values are
 * literals: tier names, the documented scan budget of 2,000,000 values, and
 * the reasons as contract.md's "Globals found in pickles" words them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PyBytes, PyCall, PyDict, PyGlobal, PyList, PyTuple, type PyValue } from "../../src/formats/pickle/values.js";
import { judgePickle, worstTier, type GlobalVerdict, type PickleReferences } from "../../src/safety/globals.js";

const g = (module: string, name: string, offset: number) => new PyGlobal(module, name, offset);
const call = (callee: PyValue, args: PyValue[], offset: number, kind: PyCall["kind"] = "reduce") => new PyCall(callee, args, kind, offset);
const refs = (globals: PyGlobal[], calls: PyCall[] = [], builds: PickleReferences["builds"] = []): PickleReferences => ({ globals, calls, builds });
/** argparse.Namespace's entry in src/safety/harmless-stdlib.ts, as docs/globals.md shows it. */
const NAMESPACE = "a plain attribute container: unpickling only sets attributes";
const rows = (vs: GlobalVerdict[]) => vs.map((v) => [v.qualname, v.tier, v.count, v.offset]);

test("one verdict per global: occurrences counted, the first offset kept, verdicts sorted by offset", () => {
  const vs = judgePickle(refs([g("collections", "OrderedDict", 30), g("argparse", "Namespace", 50), g("argparse", "Namespace", 10), g("argparse", "Namespace", 70), g("builtins", "set", 20)]));
  assert.deepEqual(rows(vs), [["argparse.Namespace", "harmless", 3, 10], ["builtins.set", "allowed", 1, 20], ["collections.OrderedDict", "allowed", 1, 30]]);
  assert.deepEqual(vs.map((v) => v.qualname), ["argparse.Namespace", "builtins.set", "collections.OrderedDict"]);
  assert.deepEqual([vs[0]!.module, vs[0]!.name], ["argparse", "Namespace"]);
  // the module alias is normalised in the verdict too
  const alias = judgePickle(refs([g("__builtin__", "set", 4)]));
  assert.deepEqual([alias[0]!.qualname, alias[0]!.module, alias[0]!.name], ["builtins.set", "builtins", "set"]);
});

test("call verdicts: the same finding twice is one verdict, counted, at its first offset", () => {
  const helper = g("mylib", "helper", 0);
  const bad = (offset: number) => call(call(g("builtins", "dict", 1), [], offset - 1), [], offset);
  const vs = judgePickle(refs([helper, g("builtins", "dict", 1)], [bad(40), bad(20), bad(60)]));
  const chained = vs.filter((v) => v.qualname === "builtins.dict(...)(...)");
  assert.deepEqual(rows(chained), [["builtins.dict(...)(...)", "unsafe", 3, 20]]);
  assert.equal(chained[0]!.reason, "calls the object another call returned; only plain globals may be called");
  assert.deepEqual([chained[0]!.module, chained[0]!.name], ["", ""]);
});

test("the argument scan stops after 2,000,000 values and says so in an unknown verdict", () => {
  // The values walked are the list and its items: 1 + 1,999,999 is the whole budget, one more is past it.
  const f = () => g("mylib", "f", 5);
  const within = judgePickle(refs([f()], [call(f(), [new PyList(new Array<PyValue>(1_999_999).fill(0))], 6)]));
  assert.deepEqual(rows(within), [["mylib.f", "unknown", 1, 5]]);
  const past = judgePickle(refs([f()], [call(f(), [new PyList(new Array<PyValue>(2_000_000).fill(0))], 6)]));
  assert.deepEqual(rows(past), [["<call arguments>", "unknown", 1, 0], ["mylib.f", "unknown", 1, 5]]);
  assert.equal(past[0]!.reason, "stopped looking for code-like strings after 2000000 values");
  assert.deepEqual([past[0]!.module, past[0]!.name], ["", ""]);
});

test("a code-like argument to a trusted global escalates its verdict, the new reason first; to an unsafe one it is appended", () => {
  const ns = g("argparse", "Namespace", 3);
  const [v] = judgePickle(refs([ns], [call(ns, ["rm -rf /"], 4)]));
  assert.equal(v!.tier, "unsafe");
  assert.equal(v!.reason, `string argument looks like a shell command: 'rm -rf /' (and: ${NAMESPACE})`);
  const sys = g("posix", "system", 3);
  const [w] = judgePickle(refs([sys], [call(sys, ["rm -rf /"], 4)]));
  assert.equal(w!.tier, "unsafe");
  assert.match(w!.reason, /^posix: .*; string argument looks like a shell command: 'rm -rf \/'$/);
  assert.doesNotMatch(w!.reason, /\(and: /);
});

test("a code-like string in the BUILD state: named by the call that built the object, or by what was built", () => {
  const built = call(g("mylib", "Obj", 1), [], 2, "newobj");
  const state = new PyDict();
  state.set("cmd", "rm -rf /");
  const byCall = judgePickle(refs([g("mylib", "Obj", 1)], [built], [{ target: built, state, offset: 9 }]));
  assert.deepEqual(rows(byCall), [["mylib.Obj", "unsafe", 1, 1]]);
  const onList = judgePickle(refs([], [], [{ target: new PyList([]), state, offset: 9 }]));
  assert.deepEqual(rows(onList), [["BUILD on <list>", "unsafe", 1, 9]]);
  assert.equal(onList[0]!.reason, "string argument looks like a shell command: 'rm -rf /'");
  assert.deepEqual([onList[0]!.module, onList[0]!.name], ["", ""]);
  // a BUILD state with nothing code-like adds nothing
  const plain = new PyDict();
  plain.set("lr", 0.1);
  assert.deepEqual(judgePickle(refs([], [], [{ target: new PyList([]), state: plain, offset: 9 }])), []);
});

test("getattr, partial and the reconstructors take the worst verdict among their calls, and say which", () => {
  const getattr = () => g("builtins", "getattr", 0);
  const member = (cls: PyGlobal, name: string, offset: number) => call(getattr(), [cls, name], offset);
  const enums = judgePickle(refs([getattr()], [
    member(g("transformers.trainer_utils", "IntervalStrategy", 1), "STEPS", 2),
    member(g("transformers.trainer_utils", "SchedulerType", 3), "LINEAR", 4),
    member(g("transformers.trainer_utils", "HubStrategy", 5), "EVERY_SAVE", 6),
    member(g("transformers.trainer_utils", "SaveStrategy", 7), "STEPS", 8),
  ]));
  assert.equal(enums[0]!.qualname, "builtins.getattr");
  assert.equal(enums[0]!.reason, "every call is harmless, e.g. builtins.getattr(transformers.trainer_utils.IntervalStrategy, 'STEPS'), builtins.getattr(transformers.trainer_utils.SchedulerType, 'LINEAR'), builtins.getattr(transformers.trainer_utils.HubStrategy, 'EVERY_SAVE')");
  const mixed = judgePickle(refs([getattr()], [member(g("transformers.trainer_utils", "IntervalStrategy", 1), "STEPS", 2), member(g("posix", "system", 3), "x", 4)]));
  const own = mixed.find((v) => v.qualname === "builtins.getattr")!;
  assert.equal(own.tier, "unsafe");
  assert.equal(own.reason, "1 of 2 calls are unsafe: builtins.getattr(posix.system, 'x')");
  // every verdict of an enum pickle: getattr's own and each class's, no call verdicts beside them
  assert.deepEqual(rows(judgePickle(refs([getattr(), g("transformers.trainer_utils", "IntervalStrategy", 1)], [member(g("transformers.trainer_utils", "IntervalStrategy", 1), "STEPS", 2)]))), [
    ["builtins.getattr", "harmless", 1, 0], ["transformers.trainer_utils.IntervalStrategy", "harmless", 1, 1],
  ]);
  // a reconstructor referenced but never called keeps its own (harmless) verdict
  assert.deepEqual(judgePickle(refs([g("copyreg", "_reconstructor", 0)])).map((v) => [v.qualname, v.tier]), [["copyreg._reconstructor", "harmless"]]);
  for (const name of ["__newobj__", "__newobj_ex__"]) {
    const r = g("copyreg", name, 0);
    const v = judgePickle(refs([r], [call(r, [g("posix", "system", 1)], 2)]));
    assert.equal(v.find((x) => x.qualname === `copyreg.${name}`)!.tier, "unsafe", name);
  }
  // referenced, never called: unsafe, with the reason it is not trusted on its own
  const [ref] = judgePickle(refs([g("functools", "partial", 0)]));
  assert.equal(ref!.tier, "unsafe");
  assert.match(ref!.reason, /^functools\.partial is referenced but never called directly; functools\.partial can wrap any callable/);
  // a reconstructor building an unknown class keeps its own tier: the class carries the warning
  const rec = g("copyreg", "_reconstructor", 0);
  const unknown = judgePickle(refs([rec, g("mylib", "Net", 1)], [call(rec, [g("mylib", "Net", 1), g("builtins", "object", 2), null], 3)]));
  assert.deepEqual(rows(unknown), [["copyreg._reconstructor", "harmless", 1, 0], ["mylib.Net", "unknown", 1, 1]]); // no separate call verdict
  const recV = unknown.find((v) => v.qualname === "copyreg._reconstructor")!;
  assert.deepEqual([recV.tier, recV.reason], ["harmless", "instantiates classes that are judged on their own: copyreg._reconstructor(mylib.Net, builtins.object, ...)"]);
  assert.equal(worstTier(unknown), "unknown");
});

test("BUILD on a global: unsafe, named by its normalised qualname", () => {
  const target = g("__builtin__", "Model", 7);
  const vs = judgePickle(refs([], [], [{ target, state: new PyTuple([]), offset: 8 }]));
  assert.deepEqual(rows(vs), [["builtins.Model", "unsafe", 1, 8]]);
  assert.deepEqual([vs[0]!.module, vs[0]!.name], ["builtins", "Model"]);
  assert.equal(vs[0]!.reason, "BUILD sets attributes on the global object itself (a module or class), the sys.modules override trick");
});

test("getattr: two or three arguments; values are named as Python writes them", () => {
  const ga = () => g("builtins", "getattr", 0);
  const ns = () => g("argparse", "Namespace", 1);
  const all = (args: PyValue[]) => judgePickle(refs([ga()], [call(ga(), args, 2)]));
  const own = (args: PyValue[]) => all(args).find((v) => v.qualname.startsWith("builtins.getattr("))!;
  const global = (args: PyValue[]) => all(args).find((v) => v.qualname === "builtins.getattr")!;
  assert.deepEqual([own([ns()]).qualname, own([ns()]).reason], ["builtins.getattr(argparse.Namespace, <missing>)", "getattr called with 1 arguments"]);
  assert.equal(own([ns(), "a", null, 1]).reason, "getattr called with 4 arguments");
  assert.deepEqual([global([ns(), "a", null]).tier, global([ns(), "a", null]).reason], ["harmless", "every call is harmless, e.g. builtins.getattr(argparse.Namespace, 'a')"]); // a default value is fine
  const named = (v: PyValue) => own([v, "x"]).qualname;
  assert.deepEqual([named(3), named(3n), named(true), named(null), named(new PyList([])), named(call(g("mylib", "f", 1), [], 1))], [
    "builtins.getattr(3, 'x')", "builtins.getattr(3, 'x')", "builtins.getattr(true, 'x')", "builtins.getattr(None, 'x')", "builtins.getattr(<list>, 'x')", "builtins.getattr(mylib.f(...), 'x')",
  ]);
  assert.equal(own([3, "x"]).reason, "getattr on a int value, not on a known class");
  assert.equal(own([call(g("mylib", "f", 1), [], 1), "x"]).reason, "getattr on the result of another call, not on a known class");
  // on an instance of a trusted class: a bound method, harmless until called (its own reason is not reported, only the call)
  assert.deepEqual([global([call(ns(), [], 1, "newobj"), "keys"]).tier, global([call(ns(), [], 1, "newobj"), "keys"]).reason], ["harmless", "every call is harmless, e.g. builtins.getattr(argparse.Namespace(...), 'keys')"]);
  assert.equal(global([call(ns(), [], 1, "newobj_ex"), "keys"]).tier, "harmless");
  assert.equal(global([call(g("mylib", "Net", 1), [], 1, "newobj"), "keys"]).tier, "unsafe"); // an instance of an unknown class
  assert.equal(global([call(ns(), [], 1, "reduce"), "keys"]).tier, "unsafe"); // built by a REDUCE call: not known to be an instance
  assert.equal(global([call(call(ns(), [], 1), [], 1, "newobj"), "keys"]).tier, "unsafe"); // built by what a call returned
  assert.equal(global([call(g("copyreg", "_reconstructor", 1), [ns(), g("builtins", "object", 1), null], 1), "keys"]).tier, "harmless");
  assert.equal(global([call(g("copyreg", "_reconstructor", 1), ["x", g("builtins", "object", 1), null], 1), "keys"]).tier, "unsafe");
  assert.equal(global([call(g("mylib", "_reconstructor", 1), [ns(), g("builtins", "object", 1), null], 1), "keys"]).tier, "unsafe");
  // calling what getattr returned: judged as the attribute it names
  const method = call(ga(), [g("pathlib", "Path", 1), "unlink"], 2);
  const unlink = judgePickle(refs([ga()], [method, call(method, ["x"], 3)])).find((v) => v.qualname === "pathlib.Path.unlink")!;
  assert.deepEqual([unlink.module, unlink.name, unlink.tier], ["pathlib", "Path.unlink", "unsafe"]);
  assert.match(unlink.reason, /^called through getattr: an attribute of pathlib\.Path reached through a dotted name/);
});

test("reconstructors: _reconstructor judges its class and base, __newobj__ its class; the rest of the arguments are elided", () => {
  const judge = (name: string, args: PyValue[]) => judgePickle(refs([g("copyreg", name, 0)], [call(g("copyreg", name, 0), args, 5)]));
  const ns = () => g("argparse", "Namespace", 1);
  const newobj = judge("__newobj__", [g("mylib", "Net", 1), g("posix", "system", 2)]); // only the first argument is a class
  assert.deepEqual(newobj.map((v) => [v.qualname, v.tier, v.reason]), [["copyreg.__newobj__", "harmless", "instantiates classes that are judged on their own: copyreg.__newobj__(mylib.Net, ...)"]]);
  const exact = judge("_reconstructor", [g("mylib", "Net", 1), g("builtins", "object", 1)]);
  assert.equal(exact[0]!.reason, "instantiates classes that are judged on their own: copyreg._reconstructor(mylib.Net, builtins.object)");
  const notClass = judge("_reconstructor", ["x", g("builtins", "object", 1)]).find((v) => v.qualname.startsWith("copyreg._reconstructor("))!;
  assert.deepEqual([notClass.qualname, notClass.tier, notClass.reason], ["copyreg._reconstructor('x', builtins.object)", "unsafe", "instantiates 'x', which is not a class global"]);
  const unsafeBase = judge("_reconstructor", [ns(), g("posix", "system", 2), null]).find((v) => v.qualname.startsWith("copyreg._reconstructor("))!;
  assert.deepEqual([unsafeBase.tier, unsafeBase.reason], ["unsafe", "instantiates a class that posix.system is unsafe"]);
  const both = judge("_reconstructor", [g("mylib", "Net", 1), g("posix", "system", 2)]).find((v) => v.qualname.startsWith("copyreg._reconstructor("))!;
  assert.deepEqual([both.tier, both.reason], ["unsafe", "instantiates a class that mylib.Net is unknown; posix.system is unsafe"]);
});

test("the argument scan reads keyword arguments, BUILD state and bytes up to 64 KiB, inside nested calls too", () => {
  const f = () => g("mylib", "f", 1);
  const tierOf = (c: PyCall) => worstTier(judgePickle(refs([f()], [c])));
  const kwargs = new PyDict();
  kwargs.set("cmd", "rm -rf /");
  const kw = new PyCall(f(), [], "newobj_ex", 2, kwargs);
  assert.equal(tierOf(kw), "unsafe");
  const st = call(f(), [], 2);
  st.state = new PyTuple(["rm -rf /"]);
  assert.equal(tierOf(st), "unsafe");
  const inner = call(f(), [], 3);
  inner.state = "rm -rf /";
  assert.equal(tierOf(call(f(), [new PyList([inner])], 2)), "unsafe");
  const inner2 = new PyCall(f(), [], "newobj_ex", 3, kwargs);
  assert.equal(tierOf(call(f(), [new PyList([inner2])], 2)), "unsafe");
  const bytes = (n: number) => new PyBytes(new Uint8Array(Buffer.from("rm -rf /".padEnd(n, " "), "latin1")));
  assert.equal(tierOf(call(f(), [bytes(65536)], 2)), "unsafe");
  assert.equal(tierOf(call(f(), [bytes(65537)], 2)), "unknown");
  assert.equal(tierOf(call(f(), [new PyList([1.5, null, true, "ok", bytes(8)])], 2)), "unsafe");
});

test("a harmless class used beyond its entry: the reason says how it was used and what its entry covers", () => {
  const linear = () => g("torch.nn.modules.linear", "Linear", 1);
  const relu = () => g("torch.nn.functional", "relu", 1);
  const reason = (c: PyCall) => judgePickle(refs([c.callee as PyGlobal], [c]))[0]!.reason;
  assert.match(reason(call(linear(), [4], 2, "obj")), /^called with arguments the file chooses, while it is known harmless only when rebuilt without __init__: /);
  assert.match(reason(call(relu(), [], 2, "newobj")), /^instantiated, while it is known harmless only as a stored value: /);
  assert.match(reason(call(relu(), [1], 2, "inst")), /^called with arguments the file chooses, while it is known harmless only as a stored value: /);
  assert.equal(worstTier(judgePickle(refs([linear()], [call(linear(), [], 2, "obj")]))), "harmless");
  assert.equal(worstTier(judgePickle(refs([linear()], [call(linear(), [4], 2, "newobj_ex")]))), "harmless");
});

test("calls that are not what they seem: a callee that is no global, a call of a call's result, a code-like argument to it", () => {
  assert.deepEqual(judgePickle(refs([], [call(new PyList([]), [], 1), call("x", [], 2)])), []);
  const f = g("mylib", "f", 1);
  const notGetattr = call(call(f, [g("pathlib", "Path", 2), "unlink"], 3), [], 4);
  assert.deepEqual(rows(judgePickle(refs([f], [notGetattr]))).filter((r) => r[1] === "unsafe"), [["mylib.f(...)(...)", "unsafe", 1, 4]]);
  const ga = g("builtins", "getattr", 0);
  const onNumber = call(call(ga, [3, "x"], 3), [], 4);
  assert.ok(judgePickle(refs([ga], [onNumber])).some((v) => v.qualname === "builtins.getattr(...)(...)" && v.tier === "unsafe"));
  const payload = judgePickle(refs([f], [call(call(f, [], 2), ["rm -rf /"], 3)])).find((v) => v.reason.startsWith("string argument"))!;
  assert.deepEqual([payload.qualname, payload.module, payload.name, payload.tier], ["mylib.f(...)", "", "", "unsafe"]);
  // a module-level _reconstructor of another module is not copyreg's: judged by its own name
  const other = g("mylib", "_reconstructor", 0);
  assert.deepEqual(judgePickle(refs([other], [call(other, [g("posix", "system", 1)], 2)])).map((v) => [v.qualname, v.tier]), [["mylib._reconstructor", "unknown"]]);
  // getattr's name: a string, an identifier, not a dunder
  const tierOf = (attr: PyValue) => judgePickle(refs([ga], [call(ga, [g("argparse", "Namespace", 1), attr], 2)]))[0]!.tier;
  assert.deepEqual([tierOf(true), tierOf("a__b__"), tierOf("__a__b"), tierOf("__a__")], ["unsafe", "harmless", "harmless", "unsafe"]);
  // partial around a function that is not trusted: the call verdict says which
  const partial = g("functools", "partial", 0);
  const p = judgePickle(refs([partial], [call(partial, [g("torch.serialization", "load", 1)], 2)])).find((v) => v.qualname.startsWith("functools.partial("))!;
  assert.deepEqual([p.qualname, p.reason], ["functools.partial(torch.serialization.load, ...)", "partial around torch.serialization.load, which is not an allowed or harmless function"]);
});

test("the argument scan goes on past ordinary strings and bytes to the code-like one", () => {
  const f = () => g("mylib", "f", 1);
  const bytes = (s: string) => new PyBytes(new Uint8Array(Buffer.from(s, "latin1")));
  // the last item is looked at first
  assert.equal(worstTier(judgePickle(refs([f()], [call(f(), [new PyList(["rm -rf /", "ok"])], 2)]))), "unsafe");
  assert.equal(worstTier(judgePickle(refs([f()], [call(f(), [new PyList(["rm -rf /", bytes("ok")])], 2)]))), "unsafe");
  assert.equal(worstTier(judgePickle(refs([f()], [call(f(), [new PyList([bytes("rm -rf /"), "ok"])], 2)]))), "unsafe");
});
