import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FormatError } from "../../src/core/errors.js";
import { PickleError } from "../../src/formats/pickle/decoder.js";
import { PyDict, Tensor, type PyValue } from "../../src/formats/pickle/values.js";
import { openTorchFile, type TorchFile } from "../../src/formats/torch/reader.js";
import { isTarHeader } from "../../src/formats/torch/tar.js";
import { inspectFile } from "../../src/inspect/inspect.js";
import { HAS_REALWORLD, REALWORLD } from "../helpers.js";
import { cleanupTemp, writeTemp } from "./zip-writer.js";
import { cat, dict, f32, glob, int, pickle, reduce, str, tup, type P } from "./pickle-emitter.js";

after(cleanupTemp);

const list = (...items: P[]): P => (items.length ? cat([0x5d, 0x28], ...items, [0x65]) : [0x5d]);
const persid = (key: string): P => cat(str(key), [0x51]);
const i64 = (...xs: (number | bigint)[]) => { const o = Buffer.alloc(8 * xs.length); xs.forEach((x, i) => o.writeBigInt64LE(BigInt(x), 8 * i)); return o; };
const i32 = (x: number) => { const o = Buffer.alloc(4); o.writeInt32LE(x); return o; };

// ---- a tiny ustar writer ----------------------------------------------------------------
/** One pax record: "<len> key=value\n", where len counts itself. */
function paxRecord(k: string, v: string): Buffer {
  const body = ` ${k}=${v}\n`;
  let n = body.length + 1;
  while (String(n).length + body.length !== n) n++;
  return Buffer.from(`${n}${body}`);
}

interface Member { name: string; data: Uint8Array; type?: string; size?: string | Buffer; badChecksum?: boolean; linkname?: string }

function header(m: Member): Buffer {
  const h = Buffer.alloc(512);
  h.write(m.name, 0, 100, "utf8");
  h.write("0000644\0", 100, "latin1");
  h.write("0000000\0", 108, "latin1");
  h.write("0000000\0", 116, "latin1");
  if (Buffer.isBuffer(m.size)) m.size.copy(h, 124);
  else h.write(m.size ?? m.data.length.toString(8).padStart(11, "0") + "\0", 124, 12, "latin1");
  h.write("00000000000\0", 136, "latin1");
  h.write(m.type ?? "0", 156, "latin1");
  if (m.linkname) h.write(m.linkname, 157, 100, "latin1");
  h.write("ustar\0", 257, "latin1");
  h.write("00", 263, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  h.write((m.badChecksum ? sum + 1 : sum).toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  return h;
}

function tar(members: Member[], endBlocks = 2): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    parts.push(header(m), Buffer.from(m.data));
    const pad = (512 - (m.data.length % 512)) % 512;
    parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(512 * endBlocks));
  return Buffer.concat(parts);
}

// ---- the torch 0.1 layout: tensor keys in the main pickle, int _cdata keys, a storage view ----
const SYS_INFO = pickle(dict(["protocol_version", int(1000)], ["little_endian", [0x88]], ["type_sizes", dict(["short", int(2)], ["int", int(4)], ["long", int(4)])]));
const MAIN = pickle(dict(["weight", persid("100")], ["bias", persid("101")], ["raw", persid("7")]));
function tensorRecord(key: number, storage: P, sizes: number[], strides: number[], offset: number, type: P = glob("torch", "FloatTensor")): Buffer {
  return Buffer.concat([pickle(tup(int(key), storage, type)), i32(sizes.length), Buffer.alloc(4), i64(...sizes), i64(...strides), i64(offset)]);
}
const TENSORS = Buffer.concat([
  pickle(int(2)),
  tensorRecord(100, int(7), [2, 3], [3, 1], 0),
  tensorRecord(101, int(8), [2], [1], 0),
]);
const STORAGE_VALUES = [1, 2, 3, 4, 5, 6, 0.5, -0.25];
function storagesMember(count: number | bigint = 8, views: P = list(tup(int(8), int(7), int(6), int(2))), type: P = glob("torch", "FloatStorage")): Buffer {
  return Buffer.concat([pickle(int(1)), pickle(tup(int(7), str("cpu"), type)), i64(count), f32(...STORAGE_VALUES), pickle(views)]);
}

function torchTar(over: Partial<Record<"sys_info" | "pickle" | "tensors" | "storages", Buffer | null>> = {}, extra: Member[] = []): Buffer {
  const members: Member[] = [];
  const add = (name: "sys_info" | "pickle" | "tensors" | "storages", def: Buffer) => {
    const d = over[name] === undefined ? def : over[name];
    if (d !== null) members.push({ name, data: d });
  };
  add("sys_info", SYS_INFO);
  add("pickle", MAIN);
  add("tensors", TENSORS);
  add("storages", storagesMember());
  return tar([...members, ...extra]);
}

function tensorAt(v: PyValue, key: string): Tensor {
  assert.ok(v instanceof PyDict, `root is ${String(v)}`);
  const t = v.get(key);
  assert.ok(t instanceof Tensor, `${key} is not a Tensor`);
  return t;
}

async function open(bytes: Uint8Array, name = "t.tar"): Promise<TorchFile> {
  return openTorchFile(writeTemp(bytes, name));
}

async function rejectsCode(p: Promise<unknown>, code: string | RegExp): Promise<FormatError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return e instanceof FormatError && (typeof code === "string" ? e.code === code : code.test(e.code));
  });
  return caught as FormatError;
}

describe("pre-0.1.10 torch tar format", () => {
  test("torch 0.1 layout: tensors member, int keys, storage views, values", async () => {
    const bytes = torchTar();
    assert.ok(isTarHeader(bytes.subarray(0, 512)));
    const f = await open(bytes);
    try {
      assert.equal(f.format, "legacy");
      assert.equal(f.container, "tar");
      assert.equal(f.writerLittleEndian, true);
      assert.deepEqual(f.problems, []);
      const w = tensorAt(f.value, "weight");
      assert.equal(w.dtype, "float32");
      assert.deepEqual(w.shape, [2, 3]);
      assert.deepEqual(w.stride, [3, 1]);
      assert.deepEqual(await f.readValues(w), [1, 2, 3, 4, 5, 6]);
      const bias = tensorAt(f.value, "bias");
      assert.deepEqual(bias.shape, [2]);
      assert.equal(bias.storage.key, "8");
      assert.deepEqual(await f.readValues(bias), [0.5, -0.25]);
      assert.ok(f.value instanceof PyDict);
      assert.equal((f.value.get("raw") as { key: string }).key, "7");
      // The main pickle is the "pickle" member; its offsets are relative to that member's data.
      assert.equal(f.pickleOffset, 512 * 3);
      // Storage bytes are not read to open the file.
      const loc = f.locations.get("7")!;
      assert.equal(loc.length, 32);
      assert.ok(f.pickle.globals.some((g) => g.qualname === "torch.FloatTensor"), "record pickles are judged too");
    } finally {
      await f.close();
    }
    const r = await inspectFile(writeTemp(bytes, "ok.tar"));
    assert.equal(r.format, "torch-tar");
    assert.equal(r.exitCode, 0, r.error?.message);
  });

  test("storage bytes are skipped: a large storage is never read", async () => {
    const big = 1 << 20;
    const storages = Buffer.concat([pickle(int(1)), pickle(tup(int(7), str("cpu"), glob("torch", "FloatStorage"))), i64(big), Buffer.alloc(big * 4), pickle(list())]);
    const main = pickle(dict(["w", persid("100")]));
    const tensors = Buffer.concat([pickle(int(1)), tensorRecord(100, int(7), [big], [1], 0)]);
    const f = await open(tar([{ name: "sys_info", data: SYS_INFO }, { name: "pickle", data: main }, { name: "tensors", data: tensors }, { name: "storages", data: storages }]));
    try {
      assert.deepEqual(f.problems, []);
      assert.deepEqual(tensorAt(f.value, "w").shape, [big]);
      assert.ok(f.file.bytesRead < 16 * 1024, `read ${f.file.bytesRead} bytes`);
    } finally {
      await f.close();
    }
  });

  test("every truncation is a FormatError or a TORCH_TRUNCATED problem, never a crash", async () => {
    const bytes = torchTar();
    // storages is the last member: after its data only the end-of-archive blocks remain.
    const dataEnd = bytes.length - 1024 - ((512 - (storagesMember().length % 512)) % 512);
    const cuts = new Set<number>();
    for (let c = 0; c <= bytes.length; c += 512) cuts.add(c);
    for (let c = 0; c <= bytes.length; c += 7) cuts.add(c);
    for (const cut of [...cuts].sort((x, y) => x - y)) {
      let f: TorchFile | undefined;
      try {
        f = await open(bytes.subarray(0, cut), `cut-${cut}.tar`);
      } catch (e) {
        assert.ok(e instanceof FormatError, `cut at ${cut}: ${String(e)}`);
        assert.ok(cut < dataEnd, `cut at ${cut} (after all member data) should open: ${(e as Error).message}`);
        continue;
      }
      try {
        if (cut < dataEnd) assert.ok(f.problems.some((p) => p.code === "TORCH_TRUNCATED"), `cut at ${cut} opened without a TORCH_TRUNCATED problem: ${JSON.stringify(f.problems)}`);
        else assert.deepEqual(f.problems, [], `cut at ${cut}`);
      } finally {
        await f.close();
      }
    }
  });

  test("absurd sizes and malformed headers are FormatErrors", async () => {
    const ok = torchTar();
    const withHeader = (index: number, m: Member) => {
      const out = Buffer.from(ok);
      header(m).copy(out, index);
      return out;
    };
    // 8 GiB - 1 in octal, base-256 2^80, negative base-256, non-octal digits, bad checksum.
    await rejectsCode(open(withHeader(1024, { name: "pickle", data: MAIN, size: "77777777777\0" })), /^TORCH_TAR_/);
    const b256 = Buffer.alloc(12); b256[0] = 0x80; b256[1] = 0x01;
    await rejectsCode(open(withHeader(1024, { name: "pickle", data: MAIN, size: b256 })), "TORCH_TAR_BAD_HEADER");
    await rejectsCode(open(withHeader(1024, { name: "pickle", data: MAIN, size: Buffer.alloc(12, 0xff) })), "TORCH_TAR_BAD_HEADER");
    await rejectsCode(open(withHeader(1024, { name: "pickle", data: MAIN, size: "00000000x99\0" })), "TORCH_TAR_BAD_HEADER");
    await rejectsCode(open(withHeader(0, { name: "sys_info", data: SYS_INFO, badChecksum: true })), "TORCH_TAR_BAD_HEADER");
    // A storage claiming 2^62 elements; a negative one.
    await rejectsCode(open(torchTar({ storages: storagesMember(2n ** 62n) })), "TORCH_BAD_STORAGE");
    await rejectsCode(open(torchTar({ storages: storagesMember(-1) })), "TORCH_BAD_STORAGE");
    // A storage larger than its member: located as far as it goes, and reported.
    const f = await open(torchTar({ storages: storagesMember(1000) }));
    assert.ok(f.problems.some((p) => p.code === "TORCH_STORAGE_SIZE_MISMATCH"));
    await f.close();
    // A billion dimensions; a tensor count with no records behind it; an unknown storage class.
    const hugeNdim = Buffer.concat([pickle(int(1)), pickle(tup(int(100), int(7), glob("torch", "FloatTensor"))), i32(1_000_000_000), Buffer.alloc(4)]);
    await rejectsCode(open(torchTar({ tensors: hugeNdim })), "TORCH_BAD_TENSOR");
    await rejectsCode(open(torchTar({ tensors: pickle(int(10n ** 15n)) })), "TORCH_TAR_BAD_MEMBER");
    await rejectsCode(open(torchTar({ tensors: Buffer.concat([pickle(int(1)), tensorRecord(100, int(7), [-2], [1], 0)]) })), "TORCH_BAD_TENSOR");
    await rejectsCode(open(torchTar({ storages: storagesMember(8, list(), glob("torch", "EvilStorage")) })), "TORCH_BAD_STORAGE");
    // Too many members.
    const many: Member[] = Array.from({ length: 1100 }, (_, i) => ({ name: `m${i}`, data: Buffer.alloc(1) }));
    await rejectsCode(open(tar(many)), "TORCH_TAR_LIMIT");
    // A pax size that is not a number.
    const pax = paxRecord("size", "999999999999999999999");
    await rejectsCode(open(Buffer.concat([tar([{ name: "PaxHeader", data: pax, type: "x" }], 0), ok])), "TORCH_TAR_BAD_HEADER");
  });

  test("fuzz: flipped bytes give FormatErrors or problems, never a crash", async () => {
    const base = torchTar();
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let i = 0; i < 400; i++) {
      const bytes = Buffer.from(base);
      for (let k = 0; k <= rand(3); k++) bytes[rand(bytes.length - 1024)] = rand(256);
      try {
        const f = await open(bytes, `fuzz-${i}.tar`);
        for (const t of Object.values(f.value instanceof PyDict ? f.value.entries().map(([, v]) => v) : [])) {
          if (t instanceof Tensor) await f.readValues(t).catch((e: unknown) => assert.ok(e instanceof FormatError, String(e)));
        }
        await f.close();
      } catch (e) {
        assert.ok(e instanceof FormatError, `flip ${i}: ${String(e)}`);
      }
    }
  });

  test("members: links refused, duplicates reported (last wins), pax and ./ names honoured", async () => {
    const link = tar([{ name: "sys_info", data: SYS_INFO }, { name: "pickle", data: new Uint8Array(0), type: "2", linkname: "/etc/passwd" }, { name: "tensors", data: TENSORS }, { name: "storages", data: storagesMember() }]);
    await rejectsCode(open(link), "TORCH_TAR_BAD_MEMBER");
    await rejectsCode(open(torchTar({ pickle: null })), "TORCH_TAR_MISSING_MEMBER");
    const dup = await open(torchTar({}, [{ name: "pickle", data: pickle(dict(["only", persid("101")])) }]));
    assert.ok(dup.problems.some((p) => p.code === "TORCH_TAR_DUPLICATE"));
    assert.deepEqual(tensorAt(dup.value, "only").shape, [2]);
    await dup.close();
    const pax = paxRecord("path", "./pickle");
    const renamed = tar([
      { name: "sys_info", data: SYS_INFO }, { name: "PaxHeader", data: pax, type: "x" }, { name: "ignored-name", data: MAIN },
      { name: "./tensors", data: TENSORS }, { name: "storages", data: storagesMember() },
    ]);
    const f = await open(renamed);
    assert.deepEqual(f.problems, []);
    assert.deepEqual(tensorAt(f.value, "weight").shape, [2, 3]);
    await f.close();
  });

  test("globals in the record pickles are judged: torch unpickles them too", async () => {
    // A tensor type that is a dangerous global: structurally a valid record.
    const evilTensors = Buffer.concat([pickle(int(1)), tensorRecord(100, int(7), [2, 3], [3, 1], 0, glob("builtins", "eval"))]);
    const p = writeTemp(torchTar({ tensors: evilTensors }), "evil1.tar");
    const r = await inspectFile(p);
    assert.equal(r.exitCode, 1);
    assert.ok(r.verdicts.some((v) => v.tier === "unsafe" && v.qualname === "builtins.eval"), JSON.stringify(r.verdicts));
    // A storage type that is a call: the file is refused, and the call is still named.
    const evilStorages = storagesMember(8, list(), reduce(glob("os", "system"), str("echo pwned")));
    const p2 = writeTemp(torchTar({ storages: evilStorages }), "evil2.tar");
    const e = await rejectsCode(openTorchFile(p2), "TORCH_BAD_STORAGE");
    assert.ok(e instanceof PickleError && e.partial.globals.some((g) => g.name === "system"));
    const r2 = await inspectFile(p2);
    assert.equal(r2.exitCode, 1);
    assert.ok(r2.verdicts.some((v) => v.tier === "unsafe" && v.qualname.endsWith("system")), JSON.stringify(r2.verdicts));
  });
});

describe("burn's tar test files", { skip: !HAS_REALWORLD && "../shared/realworld is not present" }, () => {
  const dir = join(REALWORLD, "burn/crates/burn-store/src/pytorch/tests/reader/test_data");
  const cases: [string, [string, string, number[], unknown[]][]][] = [
    ["tar_float32.tar", [["tensor", "float32", [4], [1, 2.5, Math.fround(-3.7), 0]]]],
    ["tar_multi_dtype.tar", [
      ["float_tensor", "float32", [3], [1.5, 2.5, 3.5]],
      ["double_tensor", "float64", [2], [1.111, 2.222]],
      ["int_tensor", "int64", [4], [10, 20, 30, 40]],
    ]],
    ["tar_weight_bias.tar", [
      ["weight", "float32", [2, 3], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map(Math.fround)],
      ["bias", "float32", [2], [0.01, 0.02].map(Math.fround)],
    ]],
  ];
  for (const [name, tensors] of cases) {
    test(name, async () => {
      const f = await openTorchFile(join(dir, name));
      try {
        assert.equal(f.container, "tar");
        // burn's emulation has no tensors member, no view list, and passes storages as plain tuples.
        assert.deepEqual(f.problems.map((p) => p.code).sort(), ["TORCH_TAR_INLINE_STORAGE", "TORCH_TAR_MISSING_MEMBER", "TORCH_TAR_NO_VIEWS"]);
        assert.ok(f.value instanceof PyDict && f.value.className === "OrderedDict");
        assert.deepEqual(f.value.keys(), tensors.map((t) => t[0]));
        for (const [key, dtype, shape, values] of tensors) {
          const t = tensorAt(f.value, key);
          assert.equal(t.dtype, dtype, key);
          assert.deepEqual(t.shape, shape, key);
          const got = (await f.readValues(t)).map((v) => (typeof v === "bigint" ? Number(v) : v));
          assert.deepEqual(got, values, key);
        }
      } finally {
        await f.close();
      }
      const r = await inspectFile(join(dir, name));
      assert.equal(r.exitCode, 0, r.error?.message);
      assert.equal(r.format, "torch-tar");
    });
  }
});
