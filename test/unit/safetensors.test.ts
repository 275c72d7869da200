import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { FormatError } from "../../src/core/errors.js";
import { parseSafetensorsHeader, readSafetensors, safetensorsToTorchDtype } from "../../src/formats/safetensors/index.js";
import { plainEntry, tensorEntrySchema } from "../../src/formats/safetensors/header.js";
import { parsePlainHeader } from "../../src/formats/safetensors/plainHeader.js";
import { DTYPE_NAMES } from "../../src/formats/safetensors/dtypes.js";
import { HAS_REALWORLD, REALWORLD } from "../helpers.js";

/** 8-byte LE length + header text (+ `dataBytes` zero bytes of tensor data). */
function file(header: string | object, dataBytes = 0, lengthOverride?: bigint): Uint8Array {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function parse(bytes: Uint8Array, fileSize = bytes.length) {
  return parseSafetensorsHeader(bytes, fileSize, "test.safetensors");
}

/** Asserts a FormatError with this code, rule and tensor, whose message contains every fragment. */
function expectError(fn: () => unknown, code: string, rule: string, fragments: string[] = [], tensor?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.data.rule, rule);
    if (tensor !== undefined) assert.equal(e.data.tensor, tensor);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: "F32", shape, data_offsets: [begin, end] });

test("valid: tensors, scalar, zero-size, metadata, header order", () => {
  // Built as text: a JS object literal would itself hoist the integer-like key "0".
  const entry = (key: string, value: object) => `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  const header = `{${[entry("__metadata__", { format: "pt" }), entry("b.weight", f32([2, 2], 0, 16)), entry("0", f32([], 16, 20)), entry("empty", { dtype: "BF16", shape: [0, 5], data_offsets: [20, 20] })].join(",")}}`;
  const st = parse(file(header, 20));
  assert.deepEqual(st.metadata, { format: "pt" });
  assert.deepEqual(st.tensors.map((t) => t.name), ["b.weight", "0", "empty"]); // "0" is not hoisted
  assert.deepEqual(st.tensors[0], { name: "b.weight", dtype: "F32", torchDtype: "float32", shape: [2, 2], dataOffsets: [0, 16], bits: 32 });
  assert.deepEqual(st.tensors[1]!.shape, []);
  assert.equal(st.tensors[2]!.torchDtype, "bfloat16");
  assert.equal(st.dataStart, 8 + st.headerLength);
});

test("valid: empty header, null metadata, padding, leading whitespace, unknown fields, out-of-order offsets", () => {
  assert.equal(parse(file("{}")).tensors.length, 0);
  assert.equal(parse(file({ __metadata__: null })).metadata, null);
  const padded = parse(file(`  {"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3],"extra":[1.5]}}      `, 3));
  assert.equal(padded.tensors[0]!.name, "a");
  const shuffled = parse(file({ second: { dtype: "I8", shape: [2], data_offsets: [4, 6] }, first: f32([1], 0, 4) }, 6));
  assert.deepEqual(shuffled.tensors.map((t) => t.name), ["second", "first"]);
});

test("valid: sub-byte and new dtypes", () => {
  const st = parse(file({ a: { dtype: "F4", shape: [4], data_offsets: [0, 2] }, b: { dtype: "F6_E2M3", shape: [4], data_offsets: [2, 5] }, c: { dtype: "F8_E4M3FNUZ", shape: [1], data_offsets: [5, 6] }, d: { dtype: "C64", shape: [1], data_offsets: [6, 14] } }, 14));
  assert.deepEqual(st.tensors.map((t) => t.bits), [4, 6, 8, 64]);
});

test("__proto__ as a tensor name and as a metadata key stays data", () => {
  const text = `{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`;
  const st = parse(file(text, 4));
  assert.equal(st.tensors[0]!.name, "__proto__");
  assert.equal(st.metadata!["__proto__"], "x");
  assert.deepEqual(Object.keys(st.metadata!), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(st.metadata), Object.prototype); // an own key, not a prototype
  assert.deepEqual({ ...st.metadata }, JSON.parse('{"__proto__":"x"}'));
  assert.equal(({} as Record<string, unknown>)["x"], undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "dtype"), false);
});

test("dtype names map to torch", () => {
  assert.equal(safetensorsToTorchDtype("F32"), "float32");
  assert.equal(safetensorsToTorchDtype("BF16"), "bfloat16");
  assert.equal(safetensorsToTorchDtype("F8_E4M3"), "float8_e4m3fn");
  assert.equal(safetensorsToTorchDtype("F8_E5M2FNUZ"), "float8_e5m2fnuz");
  assert.equal(safetensorsToTorchDtype("BOOL"), "bool");
  assert.equal(safetensorsToTorchDtype("U64"), "uint64");
  assert.throws(() => safetensorsToTorchDtype("F128"), FormatError);
});

test("HeaderTooSmall", () => {
  expectError(() => parse(new Uint8Array(5)), "SAFETENSORS_HEADER_TOO_SMALL", "HeaderTooSmall", ["5 bytes"]);
});

test("HeaderTooLarge, including a u64 beyond 2^53", () => {
  expectError(() => parse(file("{}", 0, 100_000_001n)), "SAFETENSORS_HEADER_TOO_LARGE", "HeaderTooLarge", ["100000001", "100000000"]);
  expectError(() => parse(file("{}", 0, 1n << 63n)), "SAFETENSORS_HEADER_TOO_LARGE", "HeaderTooLarge", ["9223372036854775808"]);
});

test("InvalidHeaderLength names N and the file size", () => {
  expectError(() => parse(file("{}", 0, 1000n)), "SAFETENSORS_INVALID_HEADER_LENGTH", "InvalidHeaderLength", ["1000", "only 10 bytes", "truncated"]);
});

test("InvalidHeader: not UTF-8", () => {
  const bytes = file(`{"a\u00ff":{}}`);
  bytes[11] = 0xff; // break the 2-byte sequence
  expectError(() => parse(bytes), "SAFETENSORS_INVALID_HEADER", "InvalidHeader", ["UTF-8"]);
});

test("InvalidHeaderDeserialization: each way a header can be malformed", () => {
  const code = "SAFETENSORS_INVALID_HEADER_DESERIALIZATION";
  const rule = "InvalidHeaderDeserialization";
  expectError(() => parse(file("{not json}")), code, rule, ["not valid JSON"]);
  expectError(() => parse(file("\ufeff{}")), code, rule, ["not valid JSON"]);
  expectError(() => parse(file("[]")), code, rule, ["array"]);
  expectError(() => parse(file({ w: { dtype: "F128", shape: [1], data_offsets: [0, 16] } })), code, rule, ['"w"', 'unknown dtype "F128"'], "w");
  expectError(() => parse(file({ w: f32([2, -1], 0, 8) })), code, rule, ['"w"', "shape[1]"], "w");
  expectError(() => parse(file(`{"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}`)), code, rule, ['"w"', "shape[0] = 1.0", "not a plain"], "w");
  expectError(() => parse(file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}`)), code, rule, ["data_offsets[1] = 4e0"], "w");
  expectError(() => parse(file(`{"w":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,4]}}`)), code, rule, ["9007199254740993", "2^53"], "w");
  expectError(() => parse(file({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4, 8] } })), code, rule, ['"w"', "data_offsets", "[begin, end]"], "w");
  expectError(() => parse(file({ w: { dtype: "F32", shape: [1] } })), code, rule, ['"w"', "data_offsets"], "w");
  expectError(() => parse(file({ w: 5 })), code, rule, ['"w"', "must be an object"], "w");
  expectError(() => parse(file({ __metadata__: { epoch: 3 } })), code, rule, ['__metadata__["epoch"]', "string"]);
  expectError(() => parse(file({ __metadata__: ["a"] })), code, rule, ["__metadata__"]);
  expectError(() => parse(file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8)), code, rule, ['duplicate key "w"'], "w");
  expectError(() => parse(file(`{"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, 4)), code, rule, ['duplicate key "dtype"', '"w"']);
  expectError(() => parse(file(`{"a":1,"\\u0061":2}`)), code, rule, ['duplicate key "a"']);
  expectError(() => parse(file(`{"w":{"x":${"[".repeat(200)}${"]".repeat(200)}}}`)), code, rule, ["recursion limit"]);
});

test("InvalidOffset names the tensor", () => {
  expectError(() => parse(file({ w: f32([1], 4, 8) }, 8)), "SAFETENSORS_INVALID_OFFSET", "InvalidOffset", ['"w"', "[4, 8]", "begin at 0"], "w");
  expectError(() => parse(file({ a: f32([1], 0, 4), b: f32([1], 6, 10) }, 10)), "SAFETENSORS_INVALID_OFFSET", "InvalidOffset", ['"b"', '"a" ends at 4', "gap of 2"], "b");
  expectError(() => parse(file({ a: f32([1], 0, 4), b: f32([1], 2, 6) }, 6)), "SAFETENSORS_INVALID_OFFSET", "InvalidOffset", ['"b"', "overlapping"], "b");
  expectError(() => parse(file({ a: f32([0], 0, 0), b: f32([1], 0, 4), c: { dtype: "F32", shape: [0], data_offsets: [4, 2] } }, 4)), "SAFETENSORS_INVALID_OFFSET", "InvalidOffset", ['"c"', "[4, 2]"], "c");
});

test("ValidationOverflow: the shape product is computed exactly", () => {
  expectError(() => parse(file({ big: f32([4294967296, 4294967296, 0], 0, 0) })), "SAFETENSORS_VALIDATION_OVERFLOW", "ValidationOverflow", ['"big"', "overflows"], "big");
  expectError(() => parse(file({ big: f32([1 << 30, 1 << 30, 8], 0, 0) })), "SAFETENSORS_VALIDATION_OVERFLOW", "ValidationOverflow", ["× 32 bits"], "big");
});

test("MisalignedSlice", () => {
  expectError(() => parse(file({ w: { dtype: "F4", shape: [3], data_offsets: [0, 2] } }, 2)), "SAFETENSORS_MISALIGNED_SLICE", "MisalignedSlice", ['"w"', "12 bits"], "w");
});

test("TensorInvalidInfo gives both sizes", () => {
  expectError(() => parse(file({ w: f32([2, 2], 0, 12) }, 12)), "SAFETENSORS_TENSOR_INVALID_INFO", "TensorInvalidInfo", ['"w"', "hold 12 bytes", "needs 16 bytes"], "w");
});

test("MetadataIncompleteBuffer: truncated and trailing", () => {
  const good = file({ w: f32([4], 0, 16) }, 16);
  const n = good.length - 8 - 16;
  expectError(() => parse(good.subarray(0, good.length - 6)), "SAFETENSORS_METADATA_INCOMPLETE_BUFFER", "MetadataIncompleteBuffer", [`${good.length} bytes`, `has ${good.length - 6}`, "truncated or has trailing bytes", "6 bytes missing", `8 + ${n} + 16`]);
  expectError(() => parse(good, good.length + 3), "SAFETENSORS_METADATA_INCOMPLETE_BUFFER", "MetadataIncompleteBuffer", ["3 extra bytes"]);
});

test("rules apply in the crate's order", () => {
  // A bad dtype in one tensor beats an offset problem in an earlier one: deserialization comes first.
  expectError(() => parse(file({ a: f32([1], 4, 8), b: { dtype: "X", shape: [], data_offsets: [0, 0] } }, 8)), "SAFETENSORS_INVALID_HEADER_DESERIALIZATION", "InvalidHeaderDeserialization", ['"b"']);
});

// Not a speed assertion: a linear scan of 100 MB takes a fraction of a second, a quadratic one would not finish.
test("a 99,999,999-byte header is scanned in linear time", () => {
  const n = 99_999_999;
  const bytes = new Uint8Array(8 + n).fill(0x20);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(n), true);
  expectError(() => parse(bytes), "SAFETENSORS_INVALID_HEADER_DESERIALIZATION", "InvalidHeaderDeserialization");
  bytes[8] = 0x7b; // "{" + spaces + "}": valid, and the scanner walks every byte
  bytes[8 + n - 1] = 0x7d;
  assert.equal(parse(bytes).tensors.length, 0);
});

test("readSafetensors reads only the header of a real file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "st-test-"));
  try {
    const ok = join(dir, "ok.safetensors");
    await writeFile(ok, file({ __metadata__: { step: "10" }, w: f32([2, 3], 0, 24) }, 24));
    const st = await readSafetensors(ok);
    assert.equal(st.path, ok);
    assert.equal(st.fileSize, statSync(ok).size);
    assert.deepEqual(st.metadata, { step: "10" });
    const tiny = join(dir, "tiny.safetensors");
    await writeFile(tiny, new Uint8Array(3));
    await assert.rejects(readSafetensors(tiny), (e: FormatError) => e.code === "SAFETENSORS_HEADER_TOO_SMALL");
    const cut = join(dir, "cut.safetensors");
    await writeFile(cut, file({ w: f32([2, 3], 0, 24) }, 24).subarray(0, 40));
    await assert.rejects(readSafetensors(cut), (e: FormatError) => e.code === "SAFETENSORS_INVALID_HEADER_LENGTH");
    const huge = join(dir, "huge.safetensors");
    await writeFile(huge, file("{}", 0, 1n << 63n));
    await assert.rejects(readSafetensors(huge), (e: FormatError) => e.code === "SAFETENSORS_HEADER_TOO_LARGE");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});


function findSafetensors(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findSafetensors(p));
    else if (entry.isFile() && entry.name.endsWith(".safetensors")) out.push(p);
  }
  return out;
}

/** Tensor counts and dtypes as the corpus README lists them. */
const EXPECTED: Record<string, { tensors: number; dtypes: Record<string, number>; metadata?: Record<string, string> }> = {
  "Model-Saving-Test-Repo/model.safetensors": { tensors: 4, dtypes: { F32: 4 }, metadata: { version: "1.0", git_tag: "v1.45" } },
  "TorchSharp.PyBridge/TorchSharp.PyBridge.Tests/pickled_modules/module_load.safetensors": { tensors: 2, dtypes: { F32: 2 } },
  "TorchSharp.PyBridge/TorchSharp.PyBridge.Tests/pickled_tensors/tensors.safetensors": { tensors: 2, dtypes: { I64: 2 } },
  "burn/crates/burn-store/safetensors-tests/tests/multi_layer/multi_layer.safetensors": { tensors: 9, dtypes: { I64: 1, F32: 8 } },
  "burn/examples/import-model-weights/weights/mnist.safetensors": { tensors: 20, dtypes: { I64: 2, F32: 18 } },
  "candle/candle-examples/examples/csm/voices.safetensors": { tensors: 2, dtypes: { I64: 1, U8: 1 } },
  "candle/candle-examples/examples/encodec/jfk-codes.safetensors": { tensors: 1, dtypes: { I64: 1 } },
  "mnist-tinygrad/model.safetensors": { tensors: 2, dtypes: { F32: 2 } },
  "safetensors-cpp/gen/model.safetensors": { tensors: 2, dtypes: { F64: 2 } },
  "safetensors/samples/B.safetensors": { tensors: 1, dtypes: { U8: 1 }, metadata: { test: "a" } },
  "safetensors/samples/H.safetensors": { tensors: 1, dtypes: { U16: 1 }, metadata: { test: "a" } },
  "safetensors/samples/I.safetensors": { tensors: 1, dtypes: { U32: 1 }, metadata: { test: "a" } },
  "safetensors/samples/d.safetensors": { tensors: 1, dtypes: { F64: 1 }, metadata: { test: "a" } },
  "safetensors/samples/overall.safetensors": { tensors: 9, dtypes: { U8: 1, U16: 1, U32: 1, I8: 1, F64: 1, F16: 1, F32: 1, I16: 1, I32: 1 }, metadata: { test: "a" } },
};
const ABUSE = "safetensors-cpp/test/safetensors_abuse_attempt_1.safetensors";

test("realworld corpus: every benign safetensors file validates", { skip: !HAS_REALWORLD && "../shared/realworld is not present" }, async (t) => {
  const files = findSafetensors(REALWORLD).map((p) => relative(REALWORLD, p)).filter((p) => p !== ABUSE);
  assert.deepEqual(Object.keys(EXPECTED).filter((rel) => !files.includes(rel)), [], "every listed file is in the corpus");
  const unlisted = files.filter((rel) => !EXPECTED[rel]);
  // A file added to the corpus later: validating it is the assertion until it gets a row above.
  if (unlisted.length > 0) t.diagnostic(`validated without expected counts (no row in EXPECTED): ${unlisted.join(", ")}`);
  for (const rel of files) {
    const st = await readSafetensors(join(REALWORLD, rel));
    const expected = EXPECTED[rel];
    if (!expected) continue;
    assert.equal(st.tensors.length, expected.tensors, rel);
    const dtypes: Record<string, number> = {};
    for (const t of st.tensors) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    assert.deepEqual(dtypes, expected.dtypes, rel);
    if (expected.metadata) assert.deepEqual(st.metadata, expected.metadata, rel);
    else assert.equal(st.metadata, null, rel);
  }
  const mnist = await readSafetensors(join(REALWORLD, "mnist-tinygrad/model.safetensors"));
  assert.equal(mnist.headerLength, 152);
  assert.equal(mnist.fileSize, 8 + 152 + 406528);
});

test("realworld corpus: the abuse file fails on its header length", { skip: !HAS_REALWORLD && "../shared/realworld is not present" }, async () => {
  await assert.rejects(readSafetensors(join(REALWORLD, ABUSE)), (e: unknown) => {
    assert.ok(e instanceof FormatError);
    assert.equal(e.code, "SAFETENSORS_INVALID_HEADER_LENGTH");
    assert.ok(e.message.includes("1000") && e.message.includes("88"), e.message);
    return true;
  });
});

test("the hand check of a tensor entry accepts nothing zod refuses, and gives zod's value", () => {
  const values: unknown[] = [0, 1, 7, 2 ** 53 - 1, 2 ** 53, -1, -0, 1.5, NaN, Infinity, "3", null, true, [], {}];
  const entries: unknown[] = [null, 3, "F32", [], [{ dtype: "F32", shape: [], data_offsets: [0, 4] }]];
  for (const dtype of ["F32", "BF16", "F8_E4M3", "f32", "F31", "", 32, null, undefined]) {
    for (const shape of [[], [2, 3], [0], ...values.map((v) => [v]), [1, "2"], "2,3", null, undefined]) {
      for (const offsets of [[0, 24], [24, 24], [0], [0, 24, 48], ...values.map((v) => [0, v]), ...values.map((v) => [v, 8]), "0,24", null, undefined]) {
        const e: Record<string, unknown> = { extra: "ignored by serde and by both" };
        if (dtype !== undefined) e["dtype"] = dtype;
        if (shape !== undefined) e["shape"] = shape;
        if (offsets !== undefined) e["data_offsets"] = offsets;
        entries.push(e);
      }
    }
  }
  let accepted = 0;
  for (const e of entries) {
    const plain = plainEntry(e);
    const zod = tensorEntrySchema.safeParse(e);
    if (plain === undefined) continue; // zod decides, and words the problem
    accepted++;
    assert.ok(zod.success, `accepted without zod but zod refuses: ${JSON.stringify(e)}`);
    assert.deepEqual(plain, zod.data);
  }
  assert.ok(accepted > 100, `only ${accepted} entries took the hand check`);
  assert.deepEqual(plainEntry({ dtype: "F32", shape: [2, 3], data_offsets: [0, 24] }), { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
});

// ---- the one-pass reading of plain headers (plainHeader.ts) ----------------------------------

const entryOf = (name: string, dtype: string, shape: number[], begin: number, end: number) => ({ name, dtype, shape, begin, end });

test("plain headers are read in one pass, to exactly what the JSON.parse path gives", () => {
  const headers = [
    `{"__metadata__":{"format":"pt","0":"x","__proto__":"y"},"b":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"0":{"shape":[],"data_offsets":[16,20],"dtype":"F32"}}`,
    ` { "a" : { "dtype" : "U8" , "shape" : [ 3 ] , "data_offsets" : [ 0 , 3 ] } }\n\t  `,
    `{"é ü 中":{"dtype":"BF16","shape":[0,5],"data_offsets":[0,0]},"__metadata__":null}`,
    `{}`,
  ];
  for (const h of headers) {
    const text = h;
    const fast = parsePlainHeader(text, new Set(DTYPE_NAMES), entryOf);
    assert.ok(fast, h);
    const slow = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    const names = fast.entries.map((e) => e.name);
    assert.deepEqual(new Set(names), new Set(Object.keys(slow).filter((k) => k !== "__metadata__")));
    for (const e of fast.entries) assert.deepEqual({ dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] }, { dtype: slow[e.name]!.dtype, shape: slow[e.name]!.shape, data_offsets: slow[e.name]!.data_offsets });
    assert.deepEqual(fast.metadata, "__metadata__" in slow ? (slow["__metadata__"] === null ? null : Object.fromEntries(Object.entries(slow["__metadata__"]))) : null);
  }
  // The order of tensors is the document's, "0" included.
  assert.deepEqual(parsePlainHeader(headers[0]!, new Set(DTYPE_NAMES), entryOf)!.entries.map((e) => e.name), ["b", "0"]);
  // A "__proto__" metadata key stays a key.
  assert.equal(Object.getOwnPropertyDescriptor(parsePlainHeader(headers[0]!, new Set(DTYPE_NAMES), entryOf)!.metadata!, "__proto__")?.value, "y");
});

test("anything not plain goes to the JSON.parse path, which judges it", () => {
  const plain = (h: string) => parsePlainHeader(h, new Set(DTYPE_NAMES), entryOf);
  const t = (v: string) => `{"t":${v}}`;
  for (const h of [
    t(`{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}`), // unknown field
    t(`{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F32"}`), // duplicate field
    `{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, // duplicate tensor
    t(`{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}`),
    t(`{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}`),
    t(`{"dtype":"F32","shape":[-0],"data_offsets":[0,4]}`),
    t(`{"dtype":"F32","shape":[01],"data_offsets":[0,4]}`),
    t(`{"dtype":"F32","shape":[1],"data_offsets":[0,1000000000000000]}`), // 16 digits
    t(`{"dtype":"F99","shape":[1],"data_offsets":[0,4]}`), // unknown dtype
    t(`{"dtype":"F32","shape":[1]}`), // missing field
    t(`{"dtype":"F\\u0033\\u0032","shape":[1],"data_offsets":[0,4]}`), // an escape
    `{"t\\n":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
    t(`{"dtype":"F32","shape":[1],"data_offsets":[0,4]},`), // trailing comma
    t(`{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}`),
    `{"__metadata__":{"a":1}}`,
    `{"__metadata__":{"a":"x","a":"y"}}`,
    `{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x`,
    `[]`,
    `{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}`,
  ]) assert.equal(plain(h), undefined, h);
  // And the JSON.parse path still names the problem for the ones that are errors.
  expectError(() => parse(file(t(`{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}`), 4)), "SAFETENSORS_INVALID_HEADER_DESERIALIZATION", "InvalidHeaderDeserialization", ["shape[0] = 1.0"], "t");
  assert.deepEqual(parse(file(t(`{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}`), 4)).tensors[0]!.shape, [1]);
});
