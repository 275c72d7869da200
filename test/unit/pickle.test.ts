import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../../src/core/errors.js";
import { decodePickle, decodePickleStreams, PickleError } from "../../src/formats/pickle/decoder.js";
import type { DecodedPickle, PickleOptions } from "../../src/formats/pickle/decoder.js";
import {
  PyBytes,
  PyCall,
  PyDict,
  PyFloat,
  PyGlobal,
  PyList,
  PyPersistent,
  PySet,
  PyTuple,
} from "../../src/formats/pickle/values.js";
import type { PyValue } from "../../src/formats/pickle/values.js";
import { REALWORLD } from "../helpers.js";
import { memoReferences } from "../../src/formats/pickle/memo-refs.js";

// ---- a tiny pickle assembler --------------------------------------------------------------
// Numbers are single bytes, strings are latin-1 text (for the text protocol), arrays are spliced.

type Part = number | string | Uint8Array | Part[];

function pk(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  const add = (p: Part): void => {
    if (typeof p === "number") out.push(p & 0xff);
    else if (typeof p === "string") for (const ch of p) out.push(ch.charCodeAt(0) & 0xff);
    else if (p instanceof Uint8Array) out.push(...p);
    else p.forEach(add);
  };
  parts.forEach(add);
  return Uint8Array.from(out);
}

const le = (n: number | bigint, size: number): number[] => {
  const out: number[] = [];
  let v = BigInt.asUintN(size * 8, BigInt(n));
  for (let i = 0; i < size; i++, v >>= 8n) out.push(Number(v & 0xffn));
  return out;
};
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, NONE: 0x4e, REDUCE: 0x52, APPEND: 0x61,
  BUILD: 0x62, DICT: 0x64, APPENDS: 0x65, LIST: 0x6c, OBJ: 0x6f, SETITEM: 0x73, TUPLE: 0x74, SETITEMS: 0x75,
  EMPTY_TUPLE: 0x29, EMPTY_LIST: 0x5d, EMPTY_DICT: 0x7d, BINPERSID: 0x51, NEWOBJ: 0x81, TUPLE1: 0x85,
  TUPLE2: 0x86, TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89, EMPTY_SET: 0x8f, ADDITEMS: 0x90,
  FROZENSET: 0x91, NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94,
} as const;
const proto = (v: number): Part => [0x80, v];
const su = (s: string): Part => { const b = utf8(s); return [0x8c, b.length, b]; }; // SHORT_BINUNICODE
const bu = (s: string): Part => { const b = utf8(s); return [0x58, le(b.length, 4), b]; }; // BINUNICODE
const i1 = (n: number): Part => [0x4b, n]; // BININT1
const i4 = (n: number): Part => [0x4a, le(n, 4)]; // BININT
const glob = (m: string, n: string): Part => ["c", m, "\n", n, "\n"];
const put = (k: number): Part => [0x71, k]; // BINPUT
const get = (k: number): Part => [0x68, k]; // BINGET
const frame = (body: Uint8Array): Part => [0x95, le(body.length, 8), body];

function decode(bytes: Uint8Array, options?: PickleOptions): DecodedPickle {
  return decodePickle(bytes, 0, options);
}
const value = (bytes: Uint8Array, options?: PickleOptions): PyValue => decode(bytes, options).value;

function expectError(bytes: Uint8Array, code: string, options?: PickleOptions): PickleError {
  try {
    decodePickle(bytes, 0, options);
  } catch (e) {
    assert.ok(e instanceof PickleError, `expected PickleError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(typeof e.offset, "number");
    return e;
  }
  assert.fail(`expected ${code}, decoded fine`);
}

function asDict(v: PyValue): PyDict {
  assert.ok(v instanceof PyDict, `expected a dict, got ${String(v)}`);
  return v;
}
function items(v: PyValue | undefined): PyValue[] {
  assert.ok(v instanceof PyList || v instanceof PyTuple || v instanceof PySet, `expected a sequence, got ${String(v)}`);
  return v.items;
}
function bytesOf(v: PyValue | undefined): number[] {
  assert.ok(v instanceof PyBytes, `expected bytes, got ${String(v)}`);
  return [...v.bytes];
}

// ---- protocol 0 ---------------------------------------------------------------------------

test("protocol 0 text opcodes: INT bools, LONG, FLOAT, STRING escapes, UNICODE", () => {
  const d = asDict(value(pk(
    "(dp0\n",
    "Vt\np1\nI01\ns", "Vf\nI00\ns", "Vone\nI1\ns", "Vneg\nI-42\ns", "Voct\nI010\ns", "Vhex\nI0x1f\ns",
    "Vbig\nI123456789012345678901234567890\ns",
    "Vlong\nL123L\ns", "Vlongneg\nL-9007199254740993L\ns",
    "Vfl\nF3.25\ns", "Vexp\nF-1e-3\ns", "Vinf\nFinf\ns",
    "Vs1\nS'a\\'b\\n\\x41\\101\\\\'\ns", 'Vs2\nS"plain"\ns',
    "Vu\nVR\xe9sum\\u00e9 \\u20ac \\U0001F600 \\\\x\ns",
    ".",
  )));
  assert.equal(d.get("t"), true);
  assert.equal(d.get("f"), false);
  assert.equal(d.get("one"), 1);
  assert.equal(d.get("neg"), -42);
  assert.equal(d.get("oct"), 8); // CPython's strtol(base 0)
  assert.equal(d.get("hex"), 31);
  assert.equal(d.get("big"), 123456789012345678901234567890n);
  assert.equal(d.get("long"), 123);
  assert.equal(d.get("longneg"), -9007199254740993n);
  assert.deepEqual(d.get("fl"), new PyFloat(3.25));
  assert.deepEqual(d.get("exp"), new PyFloat(-0.001));
  assert.deepEqual(d.get("inf"), new PyFloat(Infinity));
  assert.equal(d.get("s1"), "a'b\nAA\\");
  assert.equal(d.get("s2"), "plain");
  assert.equal(d.get("u"), "Résumé € 😀 \\\\x");
});

test("protocol 0 containers, memo, POP, DUP, POP_MARK, INST", () => {
  const r = decode(pk(
    "(", "(lp0\n", "I1\na", "(I2\nI3\ntp1\na", "g1\na", // list [1, (2,3), (2,3)]
    "I9\n0", // POP
    "I7\n2", "(I8\n1", // DUP, POP_MARK discards the 8
    "(I4\nI5\nd", // DICT {4: 5}
    "(Vx\niargparse\nNamespace\n", // INST
    "t.",
  ));
  const t = items(r.value);
  const list = items(t[0]);
  assert.equal(list[0], 1);
  assert.deepEqual(items(list[1]), [2, 3]);
  assert.equal(list[2], list[1], "GET returns the memoised object itself");
  assert.deepEqual([t[1], t[2]], [7, 7]);
  assert.equal(asDict(t[3]).get(4), 5);
  const inst = t[4];
  assert.ok(inst instanceof PyCall && inst.kind === "inst");
  assert.deepEqual(inst.args, ["x"]);
  assert.equal(r.globals[0]?.qualname, "argparse.Namespace");
  assert.equal(r.calls[0], inst);
  assert.equal(r.protocol, undefined);
});

test("GLOBAL aliases of Python 2 are normalised", () => {
  const r = decode(pk(glob("__builtin__", "eval"), glob("copy_reg", "_reconstructor"), glob("exceptions", "ValueError"),
    glob("__builtin__", "unicode"), glob("commands", "getoutput"), OP.TUPLE3, OP.TUPLE2, "."));
  assert.deepEqual(r.globals.map((g) => g.qualname),
    ["builtins.eval", "copyreg._reconstructor", "builtins.ValueError", "builtins.str", "subprocess.getoutput"]);
  assert.equal(r.globals[0]!.offset, 0);
  assert.equal(r.globals[1]!.offset, "c__builtin__\neval\n".length);
});

// ---- protocols 1-3 ------------------------------------------------------------------------

test("protocol 1: binary ints, BINFLOAT bits, binary strings, memo, OBJ, BINPERSID", () => {
  const seen: [PyValue, number][] = [];
  const r = decode(pk(
    OP.MARK,
    i1(255), [0x4d, le(65535, 2)], i4(-2), i4(0x7fffffff),
    [0x47, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18], // pi, big-endian
    [0x47, 0x80, 0, 0, 0, 0, 0, 0, 0], // -0.0
    [0x54, le(3, 4), "abc"], [0x55, 2, "\xe9x"], bu("héllo"), put(1), [0x72, le(70000, 4)],
    [0x6a, le(70000, 4)], get(1),
    OP.EMPTY_LIST, OP.MARK, i1(1), i1(2), OP.APPENDS,
    OP.EMPTY_DICT, OP.MARK, su("a"), i1(1), su("b"), i1(2), OP.SETITEMS,
    OP.MARK, glob("mod", "Cls"), i1(5), OP.OBJ,
    su("pid"), OP.BINPERSID,
    OP.TUPLE, ".",
  ), { persistentLoad: (pid, offset) => { seen.push([pid, offset]); return "loaded"; } });
  const t = items(r.value);
  assert.deepEqual(t.slice(0, 4), [255, 65535, -2, 0x7fffffff]);
  assert.equal((t[4] as PyFloat).value, Math.PI);
  assert.ok(Object.is((t[5] as PyFloat).value, -0));
  assert.deepEqual(t.slice(6, 11), ["abc", "éx", "héllo", "héllo", "héllo"]);
  assert.deepEqual(items(t[11]), [1, 2]);
  assert.deepEqual(asDict(t[12]).entries(), [["a", 1], ["b", 2]]);
  const obj = t[13];
  assert.ok(obj instanceof PyCall && obj.kind === "obj");
  assert.equal((obj.callee as PyGlobal).qualname, "mod.Cls");
  assert.deepEqual(obj.args, [5]);
  assert.equal(t[14], "loaded");
  assert.deepEqual(seen.map(([p]) => p), ["pid"]);
  assert.equal(seen[0]![1], r.end - 3);
});

test("default persistent load gives PyPersistent", () => {
  const v = value(pk("Pstorage0\n."));
  assert.ok(v instanceof PyPersistent);
  assert.equal(v.pid, "storage0");
});

test("protocol 2: PROTO, TUPLE1-3, bools, LONG1/LONG4, NEWOBJ, EXT", () => {
  const r = decode(pk(
    proto(2), OP.MARK,
    OP.NONE, OP.TUPLE1, i1(1), i1(2), OP.TUPLE2, i1(1), i1(2), i1(3), OP.TUPLE3, OP.EMPTY_TUPLE,
    OP.NEWTRUE, OP.NEWFALSE,
    [0x8a, 0], [0x8a, 1, 0xff], [0x8a, 2, 0x00, 0x80], [0x8a, 8, le(2n ** 62n, 8)],
    [0x8a, 9, le(-(2n ** 64n), 9)], [0x8b, le(3, 4), 0x01, 0x00, 0x01],
    glob("mod", "Cls"), OP.EMPTY_TUPLE, OP.NEWOBJ,
    [0x82, 7], [0x83, le(300, 2)], [0x84, le(70000, 4)],
    OP.TUPLE, ".",
  ));
  assert.equal(r.protocol, 2);
  const t = items(r.value);
  assert.deepEqual(items(t[0]), [null]);
  assert.deepEqual(items(t[1]), [1, 2]);
  assert.deepEqual(items(t[2]), [1, 2, 3]);
  assert.deepEqual(items(t[3]), []);
  assert.deepEqual(t.slice(4, 11), [true, false, 0, -1, -32768, 2n ** 62n, -(2n ** 64n)]);
  assert.equal(t[11], 0x010001);
  assert.ok(t[12] instanceof PyCall && t[12].kind === "newobj");
  assert.deepEqual(r.globals.map((g) => g.qualname), ["mod.Cls", "__extension__.7", "__extension__.300", "__extension__.70000"]);
});

test("protocol 3 bytes", () => {
  const t = items(value(pk(proto(3), [0x43, 2, 1, 2], [0x42, le(3, 4), 9, 8, 7], OP.TUPLE2, ".")));
  assert.deepEqual(bytesOf(t[0]), [1, 2]);
  assert.deepEqual(bytesOf(t[1]), [9, 8, 7]);
});

// ---- protocols 4-5 ------------------------------------------------------------------------

test("protocol 4: FRAME, MEMOIZE, STACK_GLOBAL names from the memo, sets, 8-byte lengths, NEWOBJ_EX", () => {
  const body = pk(
    OP.MARK,
    su("torch"), OP.MEMOIZE, su("Size"), OP.MEMOIZE, OP.STACK_GLOBAL, OP.MEMOIZE,
    [0x68, 0], [0x68, 1], OP.STACK_GLOBAL, // the same global again, names from the memo
    OP.EMPTY_SET, OP.MARK, i1(1), i1(2), OP.ADDITEMS,
    OP.MARK, i1(3), OP.FROZENSET,
    [0x8d, le(2, 8), "hi"], [0x8e, le(1, 8), 0xff],
    glob("mod", "K"), OP.EMPTY_TUPLE, OP.EMPTY_DICT, su("k"), i1(1), OP.SETITEM, OP.NEWOBJ_EX,
    OP.TUPLE,
  );
  const r = decode(pk(proto(4), frame(body), "."));
  assert.equal(r.protocol, 4);
  assert.deepEqual(r.globals.map((g) => g.qualname), ["torch.Size", "torch.Size", "mod.K"]);
  assert.deepEqual(r.globals.map((g) => g.offset), [11 + 16, 11 + 22, 11 + 55]);
  const [g1, g2, set, frozen, str, bytes8, call] = items(r.value);
  assert.ok(g1 instanceof PyGlobal && g2 instanceof PyGlobal && g1 !== g2);
  assert.ok(set instanceof PySet && !set.frozen);
  assert.deepEqual(set.items, [1, 2]);
  assert.ok(frozen instanceof PySet && frozen.frozen);
  assert.deepEqual(frozen.items, [3]);
  assert.equal(str, "hi");
  assert.deepEqual(bytesOf(bytes8), [0xff]);
  assert.ok(call instanceof PyCall && call.kind === "newobj_ex");
  assert.equal(asDict(call.kwargs as PyValue).get("k"), 1);
});

test("protocol 5: BYTEARRAY8, READONLY_BUFFER on bytes; NEXT_BUFFER unsupported", () => {
  const v = value(pk(proto(5), [0x96, le(2, 8), 5, 6], 0x98, "."));
  assert.ok(v instanceof PyBytes && v.kind === "bytearray");
  assert.deepEqual(bytesOf(v), [5, 6]);
  expectError(pk(proto(5), 0x97, "."), "PICKLE_UNSUPPORTED");
});

test("BINUNICODE keeps lone surrogates as CPython's surrogatepass does", () => {
  assert.equal(value(pk([0x58, le(4, 4), 0x61, 0xed, 0xa0, 0x80], ".")), "a\ud800");
  expectError(pk([0x58, le(2, 4), 0xc3, 0x28], "."), "PICKLE_BAD_VALUE");
});

// ---- calls, hooks, builds -----------------------------------------------------------------

test("built-in hooks: OrderedDict, Counter, _codecs.encode, set, frozenset, bytearray, torch.Size", () => {
  const r = decode(pk(
    proto(2), OP.MARK,
    glob("collections", "OrderedDict"), OP.EMPTY_TUPLE, OP.REDUCE, OP.MARK, su("w"), i1(1), su("b"), i1(2), OP.SETITEMS,
    glob("collections", "OrderedDict"), OP.EMPTY_LIST, su("k"), i1(9), OP.TUPLE2, OP.APPEND, OP.TUPLE1, OP.REDUCE,
    glob("collections", "Counter"), OP.EMPTY_DICT, su("x"), i1(3), OP.SETITEM, OP.TUPLE1, OP.REDUCE,
    glob("_codecs", "encode"), su("\u00e9A"), su("latin1"), OP.TUPLE2, OP.REDUCE,
    glob("__builtin__", "set"), OP.EMPTY_LIST, OP.MARK, i1(1), i1(2), OP.APPENDS, OP.TUPLE1, OP.REDUCE,
    glob("builtins", "frozenset"), OP.EMPTY_LIST, OP.TUPLE1, OP.REDUCE,
    glob("builtins", "bytearray"), su("ab"), su("latin-1"), OP.TUPLE2, OP.REDUCE,
    glob("torch", "Size"), i1(2), i1(3), OP.TUPLE2, OP.TUPLE1, OP.REDUCE,
    OP.TUPLE, ".",
  ));
  const t = items(r.value);
  const od = asDict(t[0]);
  assert.equal(od.className, "OrderedDict");
  assert.deepEqual(od.entries(), [["w", 1], ["b", 2]]);
  assert.deepEqual(asDict(t[1]).entries(), [["k", 9]]);
  assert.equal(asDict(t[2]).className, "Counter");
  assert.equal(asDict(t[2]).get("x"), 3);
  assert.deepEqual(bytesOf(t[3]), [0xe9, 0x41]);
  assert.ok(t[4] instanceof PySet && !t[4].frozen);
  assert.deepEqual(t[4].items, [1, 2]);
  assert.ok(t[5] instanceof PySet && t[5].frozen);
  assert.ok(t[6] instanceof PyBytes && t[6].kind === "bytearray");
  assert.ok(t[7] instanceof PyTuple);
  assert.deepEqual(t[7].items, [2, 3]);
  // A call a hook turned into data is recorded only when its arguments hold something to judge
  // (a string, a non-empty dict, a nested container); OrderedDict(), set([1, 2]), frozenset([]) and
  // torch.Size((2, 3)) carry nothing but their callee, which is among the globals.
  assert.deepEqual(r.calls.map((c) => (c.callee as PyGlobal).qualname), ["collections.OrderedDict", "collections.Counter", "_codecs.encode", "builtins.bytearray"]);
  assert.deepEqual(r.globals.map((g) => g.qualname), [
    "collections.OrderedDict", "collections.OrderedDict", "collections.Counter", "_codecs.encode",
    "builtins.set", "builtins.frozenset", "builtins.bytearray", "torch.Size",
  ]);
  assert.ok(r.calls.every((c) => c.kind === "reduce" && typeof c.offset === "number"));
});

test("user reduce hook runs after the built-in one declines; unhooked calls stay PyCall", () => {
  const seen: string[] = [];
  const r = decode(pk(
    glob("torch._utils", "_rebuild_tensor_v2"), OP.MARK, i1(1), OP.TUPLE, OP.REDUCE,
    glob("os", "system"), su("id"), OP.TUPLE1, OP.REDUCE,
    glob("builtins", "set"), OP.EMPTY_TUPLE, OP.REDUCE,
    OP.TUPLE3, ".",
  ), {
    reduce: (callee, args) => {
      const name = (callee as PyGlobal).qualname;
      seen.push(name);
      return name.startsWith("torch.") ? `tensor${String(args[0])}` : undefined;
    },
  });
  const t = items(r.value);
  assert.equal(t[0], "tensor1");
  assert.ok(t[1] instanceof PyCall);
  assert.deepEqual(t[1].args, ["id"]);
  assert.ok(t[2] instanceof PySet);
  assert.deepEqual(seen, ["torch._utils._rebuild_tensor_v2", "os.system"]);
  // Calls a user hook turns into data are recorded; set() with no arguments, turned into data by the built-in hook, is not.
  assert.deepEqual(r.calls.map((c) => (c.callee as PyGlobal).qualname), ["torch._utils._rebuild_tensor_v2", "os.system"]);
});

test("a reader's rebuild hook: calls it turns into data are recorded only when their arguments hold something to judge", () => {
  const rebuild = (callee: PyValue, args: PyValue[]) => ((callee as PyGlobal).name === "rebuild" ? `t${args.length}` : undefined);
  const r = decode(pk(
    OP.MARK, glob("torch._utils", "rebuild"), i1(1), OP.EMPTY_TUPLE, glob("collections", "OrderedDict"), OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE3, OP.REDUCE,
    glob("torch._utils", "rebuild"), su("__import__('os').system('id')"), OP.TUPLE1, OP.REDUCE,
    glob("torch._utils", "rebuild"), glob("collections", "OrderedDict"), OP.EMPTY_LIST, su("k"), su("v"), OP.TUPLE2, OP.APPEND, OP.TUPLE1, OP.REDUCE, OP.TUPLE1, OP.REDUCE,
    glob("torch._utils", "other"), i1(1), OP.TUPLE1, OP.REDUCE,
    OP.TUPLE, ".",
  ), { rebuild });
  assert.deepEqual(items(r.value).slice(0, 3), ["t3", "t1", "t1"]);
  // Recorded: the one with a string argument, the one whose argument is a non-empty dict (and the
  // OrderedDict call inside it, whose list holds strings), and the one no hook took.
  assert.deepEqual(r.calls.map((c) => `${(c.callee as PyGlobal).qualname}/${c.args.length}`), [
    "torch._utils.rebuild/1", "collections.OrderedDict/1", "torch._utils.rebuild/1", "torch._utils.other/1",
  ]);
  assert.equal(r.calls[0]!.args[0], "__import__('os').system('id')");
  // A rebuild hook that fails leaves its call in the partial record.
  const e = expectError(pk(glob("torch._utils", "rebuild"), i1(1), OP.TUPLE1, OP.REDUCE, "."), "PICKLE_INTERNAL", { rebuild: () => { throw new TypeError("boom"); } });
  assert.deepEqual(e.partial.calls.map((c) => (c.callee as PyGlobal).qualname), ["torch._utils.rebuild"]);
});

test("BUILD is recorded and sets the state of a call; APPEND/SETITEM on a call land in it", () => {
  const r = decode(pk(
    proto(2), glob("mod", "Obj"), OP.EMPTY_TUPLE, OP.NEWOBJ, put(0),
    OP.EMPTY_DICT, su("a"), i1(1), OP.SETITEM, OP.BUILD,
    i1(7), OP.APPEND, su("k"), i1(8), OP.SETITEM,
    glob("collections", "OrderedDict"), OP.EMPTY_TUPLE, OP.REDUCE, OP.EMPTY_DICT, OP.BUILD, OP.POP,
    ".",
  ));
  const obj = r.value;
  assert.ok(obj instanceof PyCall);
  assert.equal(asDict(obj.state as PyValue).get("a"), 1);
  assert.deepEqual(obj.listItems, [7]);
  assert.deepEqual(obj.dictItems, [["k", 8]]);
  assert.equal(r.builds.length, 2);
  assert.equal(r.builds[0]!.target, obj);
  assert.ok(r.builds[1]!.target instanceof PyDict);
});

test("BUILD on a global assigns attributes that later lookups see (sys_module_override trick)", () => {
  const r = decode(pk(
    proto(4),
    glob("torch", "_utils"), OP.EMPTY_DICT, su("a"), su("builtins"), OP.SETITEM, su("b"), su("eval"), OP.SETITEM, OP.BUILD, OP.POP,
    su("torch._utils"), su("a"), OP.STACK_GLOBAL, su("torch._utils"), su("b"), OP.STACK_GLOBAL, OP.STACK_GLOBAL,
    su("1+1"), OP.TUPLE1, OP.REDUCE, ".",
  ));
  assert.deepEqual(r.globals.map((g) => g.qualname), ["torch._utils", "torch._utils.a", "torch._utils.b", "builtins.eval"]);
  assert.equal(r.builds[0]!.target, r.globals[0]);
  assert.ok(r.value instanceof PyCall);
  assert.equal((r.value.callee as PyGlobal).qualname, "builtins.eval");
});

test("STACK_GLOBAL on computed operands records a __dynamic__ global", () => {
  const r = decode(pk(
    proto(4), glob("builtins", "str"), su("o"), OP.TUPLE1, OP.REDUCE, su("system"), OP.STACK_GLOBAL, ".",
  ));
  const g = r.value;
  assert.ok(g instanceof PyGlobal);
  assert.equal(g.module, "__dynamic__");
  assert.equal(g.name, "builtins.str(...).system");
  assert.equal(r.globals.at(-1), g);
});

test("a list memoised and appended into itself decodes without looping", () => {
  const v = value(pk(proto(2), OP.EMPTY_LIST, put(0), get(0), OP.APPEND, "."));
  assert.ok(v instanceof PyList);
  assert.equal(v.items[0], v);
});

test("a __proto__ key is just a key", () => {
  const d = asDict(value(pk(OP.EMPTY_DICT, su("__proto__"), su("x"), OP.SETITEM, ".")));
  assert.equal(d.get("__proto__"), "x");
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
});

// ---- errors -------------------------------------------------------------------------------

test("truncation: a BINUNICODE8 of 2^62 bytes fails at once, naming the opcode and the sizes", () => {
  const e = expectError(pk(proto(4), [0x8d, le(2n ** 62n, 8)], "abc."), "PICKLE_TRUNCATED");
  assert.match(e.message, /BINUNICODE8 wants 4611686018427387904 bytes but only 4 remain/);
  assert.equal(e.offset, 2);
  expectError(pk([0x4a, 1, 2]), "PICKLE_TRUNCATED");
  expectError(pk("cos\nsys"), "PICKLE_TRUNCATED");
  expectError(pk([0x42, le(0xffffffff, 4), 1, 2, 3]), "PICKLE_TRUNCATED");
});

test("every error code", () => {
  const e1 = expectError(pk(OP.NONE, 0xff), "PICKLE_UNKNOWN_OPCODE");
  assert.match(e1.message, /0xff/);
  assert.equal(e1.offset, 1);
  expectError(pk(OP.NONE, OP.REDUCE, "."), "PICKLE_STACK_UNDERFLOW");
  expectError(pk(OP.EMPTY_LIST, OP.MARK, OP.APPEND, "."), "PICKLE_STACK_UNDERFLOW"); // the mark fences the list off
  expectError(pk(OP.STOP), "PICKLE_STACK_UNDERFLOW");
  expectError(pk(i1(1), OP.TUPLE, "."), "PICKLE_NO_MARK");
  expectError(pk(get(3), "."), "PICKLE_BAD_MEMO");
  expectError(pk("I12x\n."), "PICKLE_BAD_VALUE");
  expectError(pk("L0123L\n."), "PICKLE_BAD_VALUE");
  expectError(pk("F1e999\n."), "PICKLE_BAD_VALUE");
  expectError(pk("Snot quoted\n."), "PICKLE_BAD_VALUE");
  expectError(pk("V\\u12\n."), "PICKLE_BAD_VALUE");
  expectError(pk(i1(1), i1(2), OP.STACK_GLOBAL, "."), "PICKLE_BAD_VALUE");
  expectError(pk(i1(1), i1(2), OP.APPEND, "."), "PICKLE_BAD_VALUE");
  expectError(pk(glob("m", "f"), OP.EMPTY_LIST, OP.REDUCE, "."), "PICKLE_BAD_VALUE");
  expectError(pk(["c", 0xff, "\nx\n"], "."), "PICKLE_BAD_VALUE");
  expectError(pk(proto(2), OP.NONE), "PICKLE_NO_STOP");
  expectError(pk(), "PICKLE_NO_STOP");
  expectError(pk(proto(4), [0x95, le(100, 8)], OP.NONE, "."), "PICKLE_BAD_FRAME");
  expectError(pk(proto(6), OP.NONE, "."), "PICKLE_UNSUPPORTED");
  assert.throws(() => decodePickle(pk(OP.NONE, "."), 5), PickleError);
});

test("limits: 100 000 nested MARKs give PICKLE_LIMIT, not a crash", () => {
  const deep = new Uint8Array(200_001);
  for (let i = 0; i < 200_000; i += 2) { deep[i] = OP.EMPTY_LIST; deep[i + 1] = OP.MARK; }
  deep[200_000] = OP.STOP;
  const e = expectError(deep, "PICKLE_LIMIT");
  assert.equal(e.data.limit, "maxDepth");
  assert.equal(e.offset, 2 * 10_000 + 1);
});

test("limits: opcodes, memo, container items, hook copies", () => {
  const nones = new Uint8Array(1001).fill(OP.NONE);
  nones[1000] = OP.STOP;
  assert.equal(expectError(nones, "PICKLE_LIMIT", { limits: { maxOpcodes: 500 } }).data.limit, "maxOpcodes");
  assert.equal(expectError(pk(OP.NONE, put(0), put(1), put(2), "."), "PICKLE_LIMIT", { limits: { maxMemo: 2 } }).data.limit, "maxMemo");
  assert.equal(expectError(pk(OP.MARK, i1(1), i1(2), i1(3), OP.LIST, "."), "PICKLE_LIMIT", { limits: { maxContainerItems: 2 } }).data.limit, "maxContainerItems");
  // one 3-item list fed to set() four times through the memo: 12 copies > 10
  const many = pk(OP.EMPTY_LIST, OP.MARK, i1(1), i1(2), i1(3), OP.APPENDS, put(0), OP.POP,
    [0, 1, 2, 3].map(() => [glob("builtins", "set"), get(0), OP.TUPLE1, OP.REDUCE, OP.POP]), OP.NONE, ".");
  assert.equal(expectError(many, "PICKLE_LIMIT", { limits: { maxContainerItems: 10 } }).data.limit, "maxContainerItems");
  assert.equal(decode(many).calls.length, 0); // set() of plain ints: data, nothing to judge (the global is recorded)
  assert.equal(decode(many).globals.length, 4);
});

test("a FRAME running past the end is reported after reading what it holds", () => {
  const e = expectError(pk(proto(4), [0x95, le(100, 8)], glob("os", "system"), su("x")), "PICKLE_BAD_FRAME");
  assert.equal(e.offset, 2);
  assert.deepEqual(e.partial.globals.map((g) => g.qualname), ["os.system"]);
});

test("an error after a GLOBAL keeps the globals and calls seen so far", () => {
  const e = expectError(pk(glob("os", "system"), su("rm -rf /"), OP.TUPLE1, OP.REDUCE, [0x58, le(999, 4)], "x"), "PICKLE_TRUNCATED");
  assert.deepEqual(e.partial.globals.map((g) => g.qualname), ["os.system"]);
  assert.equal(e.partial.calls.length, 1);
});

test("a throwing hook becomes a PickleError with the partial record", () => {
  const e = expectError(pk(glob("m", "f"), OP.EMPTY_TUPLE, OP.REDUCE, "."), "PICKLE_INTERNAL", {
    reduce: () => { throw new TypeError("boom"); },
  });
  assert.equal(e.partial.calls.length, 1);
  const f = expectError(pk(glob("m", "f"), OP.EMPTY_TUPLE, OP.REDUCE, "."), "TORCH_BAD_STORAGE", {
    reduce: () => { throw new FormatError("TORCH_BAD_STORAGE", "bad storage", 3); },
  });
  assert.equal(f.offset, 3);
  assert.equal(f.message, "bad storage (at byte 3)");
  assert.equal(f.partial.globals.length, 1);
});

test("random corruption of valid pickles only ever throws PickleError", () => {
  const seeds = [
    pk(proto(4), frame(pk(su("a"), OP.MEMOIZE, OP.EMPTY_LIST, OP.MARK, i1(1), bu("é"), OP.APPENDS, OP.TUPLE2)), "."),
    pk("(dp0\nVa\nL12L\nsVb\n(I1\nF2.5\ntp1\nsS'x\\n'\np2\ng2\n0."),
    pk(proto(2), glob("collections", "OrderedDict"), OP.EMPTY_TUPLE, OP.REDUCE, OP.MARK, su("k"),
      [0x8a, 9, le(-5n, 9)], OP.SETITEMS, glob("m", "C"), OP.EMPTY_TUPLE, OP.NEWOBJ, OP.EMPTY_DICT, OP.BUILD, OP.TUPLE2, "."),
  ];
  let state = 12345;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state % n;
  };
  for (let i = 0; i < 20_000; i++) {
    const base = seeds[i % seeds.length]!;
    const b = base.slice(0, base.length - rand(3));
    for (let k = rand(4) + 1; k > 0; k--) b[rand(b.length)] = rand(256);
    try {
      decodePickleStreams(b);
      decodePickle(b);
    } catch (e) {
      assert.ok(e instanceof PickleError, `input ${Buffer.from(b).toString("hex")} threw ${String(e)}`);
      assert.notEqual(e.code, "PICKLE_INTERNAL", e.message);
    }
  }
});

// ---- streams ------------------------------------------------------------------------------

test("decodePickleStreams finds a second stream hidden after STOP", () => {
  const first = pk(proto(4), OP.EMPTY_LIST, ".");
  const second = pk(proto(4), su("requests.api"), su("get"), OP.STACK_GLOBAL, su("http://x"), OP.TUPLE1, OP.REDUCE, ".");
  const r = decodePickleStreams(pk(first, second));
  assert.equal(r.streams.length, 2);
  assert.equal(r.error, undefined);
  assert.equal(r.trailingBytes, 0);
  assert.equal(r.streams[1]!.start, first.length);
  assert.deepEqual(r.streams[1]!.globals.map((g) => [g.qualname, g.offset]), [["requests.api.get", first.length + 21]]);
  const junk = decodePickleStreams(pk(first, "\n\n"));
  assert.equal(junk.streams.length, 1);
  assert.equal(junk.error?.code, "PICKLE_UNKNOWN_OPCODE");
  assert.equal(junk.trailingBytes, 2);
});

// ---- files written by others (skipped when the corpus is absent) --------------------------


test("Pickle.jl builtin_type_p0..p4 decode to the same values", (t) => {
  const dir = join(REALWORLD, "Pickle.jl/test/test_pkl");
  if (!existsSync(dir)) return t.skip("../shared/realworld is not present");
  for (let p = 0; p <= 4; p++) {
    const r = decodePickle(readFileSync(join(dir, `builtin_type_p${p}.pkl`)));
    const d = asDict(r.value);
    const msg = `protocol ${p}`;
    assert.equal(r.protocol, p >= 2 ? p : undefined, msg);
    assert.equal(d.get("str"), "Julia!", msg);
    assert.equal(d.get("int"), 42, msg);
    assert.deepEqual(asDict(d.get("bool") ?? null).entries(), [[true, false], [false, true]], msg);
    assert.deepEqual(d.get("float"), new PyFloat(3.1415926), msg);
    assert.deepEqual(bytesOf(d.get("bytes")), [0x31, 0x32, 0x33, 0x34, 0xc2, 0xb2], msg);
    const tuple = items(d.get("tuple"));
    assert.deepEqual(tuple.slice(0, 3), [1, new PyFloat(2), "3"], msg);
    assert.deepEqual(bytesOf(tuple[3]), [0x34], msg);
    assert.deepEqual(items(d.get("set")), [1, 2, 3, 12, 21], msg);
    assert.equal(d.get("bigint"), 1234567890987654321012345678909876543210n, msg);
    assert.deepEqual(items(d.get("list")), ["February", 14, 2012], msg);
    assert.equal(d.get("unicode"), "Résumé", msg);
  }
});

test("picklescan's malicious pickles show their dangerous globals", (t) => {
  const dir = join(REALWORLD, "picklescan/tests/data");
  if (!existsSync(dir)) return t.skip("../shared/realworld is not present");
  const cases: [string, string[]][] = [
    ["malicious1_v0.pkl", ["builtins.eval"]],
    ["malicious1_v3.pkl", ["builtins.eval"]],
    ["malicious1_v4.pkl", ["builtins.eval"]],
    ["malicious2_v0.pkl", ["posix.system"]],
    ["malicious-invalid-bytes.pkl", ["os.system"]],
    ["malicious0.pkl", ["builtins.apply", "builtins.eval", "builtins.compile"]],
    ["malicious3.pkl", ["http.client.HTTPSConnection"]],
    ["malicious6.pkl", ["requests.api.get"]],
    ["malicious13a.pkl", ["pickle.loads"]],
    ["malicious15b.pkl", ["bdb.Bdb.run"]],
    ["malicious19.pkl", ["functools.partial", "torch.serialization.load"]],
    ["broken_model.pkl", ["builtins.exec"]],
    ["sys_module_override_sploit.pkl", ["torch._utils", "builtins.eval"]],
    ["pytorch_magic_bypass.pt", ["builtins.eval", "posix.system"]],
  ];
  for (const [file, expected] of cases) {
    const r = decodePickleStreams(readFileSync(join(dir, file)));
    const found = new Set([...r.streams.flatMap((s) => s.globals), ...(r.error?.partial.globals ?? [])].map((g) => g.qualname));
    for (const g of expected) assert.ok(found.has(g), `${file}: ${g} not among ${[...found].join(", ")}`);
  }
  const invalid = decodePickleStreams(readFileSync(join(dir, "malicious-invalid-bytes.pkl")));
  assert.equal(invalid.streams.length, 1);
  assert.equal(invalid.trailingBytes, 4);
  const six = decodePickleStreams(readFileSync(join(dir, "malicious6.pkl")));
  assert.equal(six.streams.length, 2);
  assert.deepEqual(items(six.streams[0]!.value), ["a", "b", "c"]);
  assert.equal(six.streams[0]!.globals.length, 0);
  const broken = decodePickleStreams(readFileSync(join(dir, "broken_model.pkl")));
  assert.equal(broken.error?.code, "PICKLE_TRUNCATED");
  for (const file of ["benign0_v0.pkl", "benign0_v3.pkl", "benign0_v4.pkl"]) {
    const r = decodePickleStreams(readFileSync(join(dir, file)));
    assert.equal(r.error, undefined, file);
    assert.equal(r.streams.length, 1, file);
    assert.equal(items(r.streams[0]!.value).length, 3, file);
  }
});

// ---- the memo pass (memo-refs.ts): large pickles keep only the memo values some GET reads back ----

test("the memo pass finds the keys a GET reads back, and gives up where it cannot be sure", () => {
  const refs = memoReferences(pk(proto(2), OP.EMPTY_LIST, put(0), put(1), OP.POP, get(1), [0x6a, le(300, 4)], "g7\n", bu("x"), "."), 0)!;
  assert.deepEqual([0, 1, 7, 300, 2].map((k) => refs.has(k)), [false, true, true, true, false]);
  assert.equal(memoReferences(pk(proto(2), [0xff], "."), 0), undefined); // an opcode it does not know
  assert.equal(memoReferences(pk(proto(4), OP.NONE, OP.MEMOIZE, put(5), get(0), "."), 0), undefined); // MEMOIZE and PUT mixed
  const memoize = memoReferences(pk(proto(4), OP.NONE, OP.MEMOIZE, OP.NONE, OP.MEMOIZE, get(1), "."), 0)!;
  assert.deepEqual([memoize.has(0), memoize.has(1)], [false, true]);
  assert.equal(memoReferences(pk(proto(2), "g1"), 0), undefined); // a GET line without its newline
  // It stops where the decoder's opcode limit would: a hostile file of a billion NONEs is not scanned to its end.
  const nones = pk(proto(2), new Uint8Array(1000).fill(OP.NONE), get(9), ".");
  assert.deepEqual([memoReferences(nones, 0)!.has(9), memoReferences(nones, 0, 500)!.has(9)], [true, false]);
});

test("a large pickle decodes the same with the memo pass: GETs far apart, MEMOIZE, text PUT/GET, re-PUT keys", () => {
  // A 200 KiB string, pushed and popped: two of them put a pickle over the pass's 256 KiB threshold.
  const pad = Buffer.concat([Buffer.from([0x58, ...le(200 * 1024, 4)]), Buffer.alloc(200 * 1024, 0x70), Buffer.from([OP.POP])]);
  const join = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
  const big = join(pk(proto(4), OP.MARK, su("first"), OP.MEMOIZE, OP.POP, OP.NONE, OP.MEMOIZE, OP.POP), pad, pad, pk(get(0), get(0), OP.TUPLE, "."));
  assert.ok(big.length > 256 * 1024);
  assert.deepEqual(items(value(big)), ["first", "first"]);
  const text = join(pk(OP.MARK, "S'a'\n", "p0\n", "0"), pad, pad, pk("S'b'\n", "p0\n", "0", "g0\n", "t."));
  assert.deepEqual(items(value(text)), ["b"]);
  const mixed = join(pk(proto(4), OP.MARK, su("x"), OP.MEMOIZE, put(7), OP.POP), pad, pad, pk(get(7), get(0), OP.TUPLE, "."));
  assert.deepEqual(items(value(mixed)), ["x", "x"]);
  // A GET of a key never stored is still the same error.
  assert.equal(expectError(join(pk(proto(2)), pad, pad, pk(get(3), ".")), "PICKLE_BAD_MEMO").data.key, 3);
});

test("a dict behaves as a Map whether it holds few entries (one array) or many (a Map)", () => {
  const nan = Number.NaN;
  const f3 = new PyFloat(3);
  const fx = new PyFloat(2.5);
  const ops: [PyValue, PyValue][] = [["a", 1], [3n, "int"], [f3, "float 3.0"], ["b", 2], [nan, "nan"], [-0, "zero"], [fx, "float"], ["a", 10], [0, "plus zero"]];
  for (const batch of [1, 2, 9]) {
    for (const extra of [0, 12]) {
      const d = new PyDict();
      const m = new Map<PyValue, PyValue>();
      const all: [PyValue, PyValue][] = [...ops, ...Array.from({ length: extra }, (_, i): [PyValue, PyValue] => [`k${i}`, i])];
      for (let i = 0; i < all.length; i += batch) {
        const chunk = all.slice(i, i + batch);
        if (batch === 1) d.set(chunk[0]![0], chunk[0]![1]);
        else d.setMany(chunk.flat());
        // The Map a dict used to be, with the dict's key normalisation (3n and 3.0 are 3).
        for (const [k, v] of chunk) m.set(typeof k === "bigint" ? Number(k) : k instanceof PyFloat && Number.isInteger(k.value) ? k.value : k, v);
      }
      assert.deepEqual(d.entries(), [...m.entries()], `batch ${batch}, extra ${extra}`);
      assert.equal(d.size, m.size);
      assert.equal(d.get(3), "float 3.0");
      assert.equal(d.get(nan), "nan");
      assert.equal(d.get(0), "plus zero"); // -0 and 0 are one key
      assert.equal(d.get(fx), "float");
      assert.equal(d.get(new PyFloat(2.5)), undefined); // a non-integral float key compares by identity
      assert.ok(d.has("a") && !d.has("zz"));
      assert.deepEqual([...d.map.entries()], [...m.entries()]);
      d.set("late", 1); // after .map, still one dict
      assert.equal(d.get("late"), 1);
    }
  }
  assert.deepEqual([new PyDict().size, new PyDict().keys(), new PyDict().get("x")], [0, [], undefined]);
});
