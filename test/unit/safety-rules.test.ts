/**
 * Issue 16 (mutation testing of src/safety): the rules of classify.ts and
 * calls.ts at their edges. Expected tiers and reasons are literals: the
 * limits the code documents (1,024 characters, 32 components), the tier
 * names, and the reasons as contract.md's "Globals found in pickles" words them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PyCall, PyGlobal, type PyValue } from "../../src/formats/pickle/values.js";
import { classifyGlobal, judgePickle } from "../../src/safety/globals.js";
import { weightsOnlyVerdict } from "../../src/safety/weights-only.js";

const name = (parts: number) => Array.from({ length: parts }, (_, i) => `a${i}`).join(".");

test("a name of at most 1,024 characters and 32 components is judged; one more is unsafe, and the reason counts it", () => {
  // "mylib." is 6 characters: 6 + 1018 = 1024.
  assert.equal(classifyGlobal("mylib", "x".repeat(1018)).tier, "unknown");
  assert.deepEqual(classifyGlobal("mylib", "x".repeat(1019)), { tier: "unsafe", reason: "a name of 1025 characters; real pickles name a class or function a few levels deep" });
  // mylib and 31 components are 32.
  assert.equal(classifyGlobal("mylib", name(31)).tier, "unknown");
  assert.deepEqual(classifyGlobal("mylib", name(32)), { tier: "unsafe", reason: "an attribute path of 33 components; real pickles name a class or function a few levels deep" });
  assert.deepEqual(classifyGlobal("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.A.B.C.D.E.F", "G"), {
    tier: "unsafe",
    reason: "an attribute path of 33 components; real pickles name a class or function a few levels deep",
  });
});

test("a last component alone reaches a module only when it is one of the module objects the sys.modules trick goes after", () => {
  // [name, tier]: mylib + one component. The module objects of classify.ts MODULE_OBJECTS, then names that are only functions.
  const table: [string, "unsafe" | "unknown"][] = [
    ["os", "unsafe"], ["posix", "unsafe"], ["nt", "unsafe"], ["sys", "unsafe"], ["subprocess", "unsafe"], ["socket", "unsafe"], ["shutil", "unsafe"],
    ["pty", "unsafe"], ["runpy", "unsafe"], ["importlib", "unsafe"], ["ctypes", "unsafe"], ["pickle", "unsafe"], ["_pickle", "unsafe"], ["marshal", "unsafe"],
    ["trace", "unknown"], ["profile", "unknown"], ["pdb", "unknown"], ["code", "unknown"], ["timeit", "unknown"],
  ];
  const wrong = table.filter(([n, tier]) => classifyGlobal("mylib", n).tier !== tier).map(([n, tier]) => `mylib.${n}: expected ${tier}`);
  assert.deepEqual(wrong, []);
  assert.equal(classifyGlobal("mylib", "sys").reason, "reaches sys through the attribute path sys: changes or exits the interpreter (sys.modules, sys.exit, ...)");
  assert.equal(classifyGlobal("mylib", "trace.Trace").reason.startsWith("reaches trace through the attribute path trace.Trace: "), true);
});

test("a dunder component anywhere in the name reaches interpreter internals", () => {
  assert.deepEqual(classifyGlobal("mylib", "Net.__init__"), { tier: "unsafe", reason: "the attribute __init__ reaches interpreter internals" });
  assert.deepEqual(classifyGlobal("mylib", "__dict__.x"), { tier: "unsafe", reason: "the attribute __dict__ reaches interpreter internals" });
  assert.equal(classifyGlobal("mylib", "_private_").tier, "unknown");
  assert.equal(classifyGlobal("mylib", "__x").tier, "unknown");
  assert.equal(classifyGlobal("mylib", "x__").tier, "unknown");
  assert.equal(classifyGlobal("mylib", "____").tier, "unknown"); // no name between the underscores
});

test("default deny: the reason says which namespace, and an attribute path into a trusted name stays what its module is", () => {
  assert.deepEqual(classifyGlobal("json", "loads"), {
    tier: "unsafe",
    reason: "standard-library callable outside the known-harmless list: Python's standard library is denied by default unless listed (use --allow-global json.loads if you trust it)",
  });
  assert.deepEqual(classifyGlobal("torchgen.model", "X"), {
    tier: "unsafe",
    reason: "torch callable outside the known-harmless list: torch's own code is denied by default unless listed (use --allow-global torchgen.model.X if you trust it)",
  });
  assert.equal(classifyGlobal("torchvision", "X").tier, "unknown"); // not one of torch's own packages
  assert.equal(classifyGlobal("torch_helpers", "X").tier, "unknown");
  assert.deepEqual(classifyGlobal("mylib", "json.loads"), {
    tier: "unsafe",
    reason: "reaches json through the attribute path json.loads: standard-library callable outside the known-harmless list: Python's standard library is denied by default unless listed (use --allow-global json.loads if you trust it)",
  });
  assert.equal(classifyGlobal("mylib", "a.json.loads").tier, "unsafe"); // the path may walk in from any component but the last
  assert.equal(classifyGlobal("mylib", "argparse.Namespace").tier, "unknown");
  assert.deepEqual(classifyGlobal("mylib", "x"), {
    tier: "unknown",
    reason: "not on the allow-list or the known-harmless list; loading it imports mylib (use --allow-global mylib.x if you trust it)",
  });
});

test("--allow-global: an empty list allows nothing, a name matches whole", () => {
  assert.equal(classifyGlobal("mylib", "x", { allowGlobals: [] }).tier, "unknown");
  assert.equal(classifyGlobal("mylib", "x", { allowGlobals: ["mylib"] }).tier, "unknown");
  assert.equal(classifyGlobal("mylib", "x", { allowGlobals: ["mylib.xy", "mylib.x"] }).tier, "harmless");
  assert.equal(classifyGlobal("mylib", "x", { allowGlobals: ["mylib.x.y"] }).tier, "unknown");
});

test("weights_only: each module torch blocks, the protocols its unpickler implements, numpy dtype codes", () => {
  const verdict = (globals: PyGlobal[], protocol?: number, builds: { target: PyValue; state: PyValue; offset: number }[] = []) =>
    weightsOnlyVerdict({ globals, builds, protocol }, judgePickle({ globals, calls: [], builds: [] }));
  for (const m of ["sys", "os", "posix", "nt"]) {
    assert.deepEqual(verdict([new PyGlobal(m, "getcwd", 2)], 2), { allow: [], blockers: [`${m}.getcwd: torch blocks module ${m} even when allowlisted`] });
  }
  assert.deepEqual(verdict([new PyGlobal("os.path", "join", 2)], 2).blockers, ["os.path.join: torch blocks module os.path even when allowlisted"]);
  assert.deepEqual(verdict([new PyGlobal("json", "loads", 2)], 2).blockers, ["json.loads: unsafe, never allowlist it (see training-state)"]);
  assert.deepEqual(verdict([new PyGlobal("mylib", "Net", 2)], 2), { allow: ["mylib.Net"], blockers: [] });
  assert.deepEqual(verdict([new PyGlobal("__builtin__", "set", 2), new PyGlobal("builtins", "slice", 3)], 2), { allow: ["slice"], blockers: [] });
  assert.deepEqual(verdict([], 3), { allow: [], blockers: [] });
  assert.deepEqual(verdict([], undefined), { allow: [], blockers: [] });
  assert.deepEqual(verdict([], 5).blockers, ["pickle protocol 5: its opcodes (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL) are not implemented by torch's weights_only unpickler"]);
  const dtype = (module: string, code: PyValue) => ({ target: new PyCall(new PyGlobal(module, "dtype", 0), [code, false, true], "reduce", 1), state: null, offset: 2 });
  const allowOf = (b: ReturnType<typeof dtype>) => verdict([], 2, [b]).allow;
  assert.deepEqual(allowOf(dtype("numpy", "u4")), ['type(numpy.dtype("u4"))']);
  assert.deepEqual(allowOf(dtype("numpy", "<f8")), ['type(numpy.dtype("<f8"))']);
  assert.deepEqual(allowOf(dtype("numpy", "x".repeat(16))), [`type(numpy.dtype("${"x".repeat(16)}"))`]);
  assert.deepEqual(allowOf(dtype("numpy", "x".repeat(17))), []);
  assert.deepEqual(allowOf(dtype("numpy", "")), []);
  assert.deepEqual(allowOf(dtype("numpy", "u4)")), []);
  assert.deepEqual(allowOf(dtype("numpy", "(u4")), []);
  assert.deepEqual(allowOf(dtype("numpy", 4)), []);
  assert.deepEqual(allowOf(dtype("numpyx", "u4")), []);
  assert.deepEqual(verdict([], 2, [{ target: new PyGlobal("numpy", "dtype", 0), state: null, offset: 2 }]).allow, []);
  assert.deepEqual(verdict([], 2, [{ target: new PyCall(new PyCall(new PyGlobal("numpy", "dtype", 0), [], "reduce", 0), ["u4"], "reduce", 1), state: null, offset: 2 }]).allow, []);
});

test("the unsafe list reaches through attribute paths, and --allow-global of the whole path does not lift it", () => {
  const allow = (q: string) => ({ allowGlobals: [q] });
  assert.deepEqual(classifyGlobal("mylib", "os.system", allow("mylib.os.system")), { tier: "unsafe", reason: "reaches os through the attribute path os.system: runs shell commands or starts processes" });
  assert.equal(classifyGlobal("mylib", "pdb.run", allow("mylib.pdb.run")).tier, "unsafe"); // pdb is no module object, but it is not the last component
  assert.equal(classifyGlobal("mylib", "sys", allow("mylib.sys")).tier, "unsafe");
  assert.deepEqual(classifyGlobal("mylib", "trace", allow("mylib.trace")), { tier: "harmless", reason: "allowed with --allow-global" });
  assert.equal(classifyGlobal("mylib", "Net.__init__", allow("mylib.Net.__init__")).tier, "unsafe");
  // the default deny reached through a path names the inner global's own --allow-global
  assert.equal(
    classifyGlobal("mylib", "a.json.loads").reason,
    "reaches json through the attribute path a.json.loads: standard-library callable outside the known-harmless list: Python's standard library is denied by default unless listed (use --allow-global json.loads if you trust it)",
  );
  assert.equal(
    classifyGlobal("mylib", "json.decoder.JSONDecoder").reason,
    "reaches json through the attribute path json.decoder.JSONDecoder: standard-library callable outside the known-harmless list: Python's standard library is denied by default unless listed (use --allow-global json.decoder.JSONDecoder if you trust it)",
  );
});

test("methods of trusted classes are unsafe, also where no default deny would catch them; getattr and partial say why they are unsafe alone", () => {
  assert.deepEqual(classifyGlobal("transformers.training_args", "TrainingArguments.to_dict"), {
    tier: "unsafe",
    reason: "an attribute of transformers.training_args.TrainingArguments reached through a dotted name; methods of trusted classes are not trusted",
  });
  assert.equal(classifyGlobal("mylib", "Net.forward").tier, "unknown"); // an unknown owner stays unknown
  assert.deepEqual(classifyGlobal("builtins", "getattr"), { tier: "unsafe", reason: "getattr reaches any attribute of any object; only getattr(known class, 'NAME') calls are accepted" });
  assert.deepEqual(classifyGlobal("functools", "partial"), { tier: "unsafe", reason: "functools.partial can wrap any callable; accepted only around allowed or harmless functions" });
  assert.match(classifyGlobal("exceptions", "Model").reason, /^builtins: /); // the Python 2 module name of the built-in exceptions
});

test("dunder names: two underscores on each side of at least one character, the whole component", () => {
  for (const n of ["a__b__", "__a__b", "__a_", "___"]) assert.equal(classifyGlobal("mylib", n).tier, "unknown", n);
  for (const n of ["__a__", "__ab__", "x.__a__"]) assert.equal(classifyGlobal("mylib", n).tier, "unsafe", n);
  // an empty module (GLOBAL "\nname") still counts the components after its dot
  assert.equal(classifyGlobal("", name(32)).tier, "unsafe");
});
