/**
 * Resource limits: every hostile size, count, depth or length gives a clear
 * finding (exit 1) quickly and in bounded memory, never a crash or a hang.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "fflate";
import { inspectFile } from "../../src/inspect/inspect.js";
import { renderInspectJson, renderInspectText } from "../../src/inspect/render.js";
import { renderJson } from "../../src/report/json.js";
import { copyCase, errorCodes, findings, keepFixturesUnchanged, pk, safetensors, str2, tempFile, torchZip, u32, u64, verifyTimed } from "./build.js";
import { buildZip } from "../unit/zip-writer.js";

// A hang guard, not a speed test: far above any run on a loaded machine (the 256 MiB zip bomb took
// 5.0 s with two cores shared at load 7, and failed a 5 s bound). Speed is measured (docs/performance.md).
const LIMIT_MS = 60_000;

/** inspect, within the time limit, rendered both ways (rendering walks the value: it must survive depth and cycles). */
async function inspectTimed(path: string) {
  const t0 = performance.now();
  const r = await inspectFile(path);
  JSON.parse(renderInspectJson(r));
  renderInspectText(r);
  const ms = performance.now() - t0;
  assert.ok(ms < LIMIT_MS, `inspect ${path} took ${ms.toFixed(0)} ms`);
  return r;
}

/** The file as a weights file and as a training state in a copy of the ok folder; both must fail with a finding. */
async function verifyAsState(bytes: Uint8Array): Promise<string[]> {
  const dir = copyCase("training-state", "ok");
  writeFileSync(join(dir, "training_state.pth"), bytes);
  const r = await verifyTimed(dir, LIMIT_MS);
  JSON.parse(renderJson(r));
  assert.equal(r.exitCode, 1);
  return errorCodes(r);
}

const benignDict = pk(0x80, 2, "}", str2("a"), "K", 1, "s.");

describe("hostile input: resource limits", () => {
  keepFixturesUnchanged();

  it("zip bomb: a deflated data.pkl whose declared size is 4 GiB from 64 KiB (ratio far over DEFLATE's 1032:1)", async () => {
    const zeros = deflateSync(new Uint8Array(8 * 1024 * 1024), { level: 9 });
    const zip = buildZip([{ name: "archive/data.pkl", data: new Uint8Array(8 * 1024 * 1024), deflate: true, cdUncompressedSize: 0xfffffffe }, { name: "archive/version", data: Buffer.from("3\n") }]);
    assert.ok(zeros.length < 16 * 1024);
    const p = tempFile("bomb.pt", zip);
    const r = await inspectTimed(p);
    assert.equal(r.exitCode, 1);
    assert.match(`${r.error?.code} ${r.error?.message}`, /ZIP_BOMB|ZIP_ENTRY_TOO_LARGE|ratio|limit/i);
    assert.ok((await verifyAsState(zip)).includes("STATE_UNREADABLE"));
  });

  it("zip bomb: a truthful deflated record of 256 MiB of zeros (ratio ~1000:1) is refused or read in bounded memory", async () => {
    const zip = torchZip(new Uint8Array(256 * 1024 * 1024), "archive", [], {}, true);
    const p = tempFile("bomb2.pt", zip);
    const heap0 = process.memoryUsage().rss;
    const r = await inspectTimed(p);
    assert.equal(r.exitCode, 1, "256 MiB of zero bytes is no pickle");
    assert.ok(r.error, "a finding");
    assert.ok(process.memoryUsage().rss - heap0 < 1024 * 1024 * 1024, "rss grew over 1 GiB");
  });

  it("a ZIP64 size field of 2^63", async () => {
    const zip = buildZip([{ name: "archive/data.pkl", data: benignDict, cdUncompressedSize: Number(2n ** 63n) }, { name: "archive/version", data: Buffer.from("3\n") }], { zip64: true });
    const r = await inspectTimed(tempFile("z64.pt", zip));
    assert.equal(r.exitCode, 1);
    assert.match(r.error!.message, /9223372036854775808|beyond/);
    assert.ok((await verifyAsState(zip)).some((c) => /STATE_UNREADABLE|FILE_WRONG_FORMAT/.test(c)));
  });

  it("a central directory claiming a million entries", async () => {
    for (const zip64 of [true, false]) {
      const zip = torchZip(benignDict, "archive", [], { zip64, entryCount: zip64 ? 1_000_000 : 0xfffe });
      const r = await inspectTimed(tempFile("million.pt", zip));
      assert.equal(r.exitCode, 1);
      assert.match(r.error!.message, /entries/);
      assert.ok((await verifyAsState(zip)).length > 0);
    }
  });

  it("a pickle nested 100,000 levels deep (MARKs, and lists built without MARKs)", async () => {
    const marks = pk(0x80, 2, "(".repeat(100_000), "l".repeat(100_000), ".");
    const r1 = await inspectTimed(tempFile("marks.pkl", marks));
    assert.equal(r1.exitCode, 1);
    assert.match(r1.error!.code, /PICKLE_LIMIT/);
    // ] x N then APPEND x (N-1): a list 100,000 deep, legal for CPython's unpickler.
    const lists = pk(0x80, 2, "]".repeat(100_000), "a".repeat(99_999), ".");
    const r2 = await inspectTimed(tempFile("lists.pkl", lists));
    assert.ok(r2.exitCode === 0 || r2.error, "decodes or says why not");
    // {k: [[[...]]]} 100,000 deep inside a dict, as a training state would nest it
    const dicts = pk(0x80, 2, "}", str2("k"), "]".repeat(100_000), "a".repeat(99_999), "s.");
    await inspectTimed(tempFile("dicts.pkl", dicts));
    for (const bytes of [marks, lists, dicts]) await verifyAsState(torchZip(bytes));
  });

  it("a memo entry that references itself (a list containing itself, a dict containing itself)", async () => {
    const list = pk(0x80, 2, "]", "q", 0, "h", 0, "a.");
    const dict = pk(0x80, 2, "}", "q", 0, str2("self"), "h", 0, "s.");
    const tuple = pk(0x80, 2, "]", "q", 0, "h", 0, 0x85, "q", 1, "h", 0, "h", 1, "a.");
    for (const [name, bytes] of [["list", list], ["dict", dict], ["tuple", tuple]] as const) {
      const r = await inspectTimed(tempFile(`${name}-cycle.pkl`, bytes));
      assert.ok(r.exitCode === 0 || r.error, name);
      const codes = await verifyAsState(torchZip(bytes));
      assert.ok(codes.length > 0, name);
    }
  });

  it("BINBYTES8 / BINUNICODE8 / BYTEARRAY8 with a length beyond the file", async () => {
    for (const op of [0x8e, 0x8d, 0x96]) {
      for (const len of [2n ** 63n, 2n ** 40n, 1000n]) {
        const bytes = pk(0x80, 5, op, u64(len), "abc.");
        const r = await inspectTimed(tempFile(`len8-${op}.pkl`, bytes));
        assert.equal(r.exitCode, 1);
        assert.match(r.error!.code, /PICKLE_/);
        assert.match(r.error!.message, /wants \d+ bytes but only \d+ remain/);
      }
    }
    assert.ok((await verifyAsState(torchZip(pk(0x80, 5, 0x8e, u64(2n ** 63n), "abc.")))).includes("STATE_UNREADABLE"));
  });

  it("a LONG4 of a gigabyte (declared, and beyond the file)", async () => {
    const bytes = pk(0x80, 2, 0x8b, u32(1 << 30), Buffer.alloc(64), ".");
    const r = await inspectTimed(tempFile("long4.pkl", bytes));
    assert.equal(r.exitCode, 1);
    assert.match(r.error!.message, /LONG4 wants 1073741824 bytes but only \d+ remain/);
    assert.ok((await verifyAsState(torchZip(bytes))).includes("STATE_UNREADABLE"));
    // present in full, an int over 1 MiB of bytes is refused by the int-size limit (CPython would spend minutes on it)
    const present = pk(0x80, 2, 0x8b, u32(2 << 20), Buffer.alloc(2 << 20, 0x11), ".");
    const r2 = await inspectTimed(tempFile("long4b.pkl", present));
    assert.equal(r2.error?.code, "PICKLE_LIMIT");
  });

  it("a safetensors header length of 2^63", async () => {
    const bytes = Buffer.concat([u64(2n ** 63n), Buffer.from('{"a":1}')]);
    const r = await inspectTimed(tempFile("model.safetensors", bytes));
    assert.equal(r.exitCode, 1);
    const dir = copyCase("training-state", "ok");
    writeFileSync(join(dir, "model.safetensors"), bytes);
    const v = await verifyTimed(dir);
    assert.equal(v.exitCode, 1);
    assert.ok(findings(v).some((f) => f.level === "error" && f.file === "model.safetensors"), JSON.stringify(errorCodes(v)));
  });

  it("a safetensors header of 99,999,999 bytes of spaces (just under the reference limit)", async () => {
    const n = 99_999_999;
    const bytes = Buffer.alloc(8 + n + 2, 0x20);
    bytes.writeBigUInt64LE(BigInt(n), 0);
    const r = await inspectTimed(tempFile("spaces.safetensors", bytes));
    assert.equal(r.exitCode, 1);
    const braced = Buffer.from(bytes);
    braced[8] = 0x7b; // "{" then spaces: still not JSON
    assert.equal((await inspectTimed(tempFile("spaces2.safetensors", braced))).exitCode, 1);
    const ok = safetensors({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } });
    const padded = Buffer.concat([u64(n), ok.subarray(8, ok.length - 4), Buffer.alloc(n - (ok.length - 12), 0x20), Buffer.alloc(4)]);
    const r3 = await inspectTimed(tempFile("spaces3.safetensors", padded));
    assert.equal(r3.exitCode, 0, "a valid header padded with spaces to 99,999,999 bytes is valid safetensors");
  });

  it("shapes whose element count overflows (safetensors and torch)", async () => {
    for (const shape of [[2 ** 40, 2 ** 40, 2 ** 40], [2 ** 53, 2], [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]]) {
      const r = await inspectTimed(tempFile("big.safetensors", safetensors({ w: { dtype: "F32", shape, data_offsets: [0, 4] } })));
      assert.equal(r.exitCode, 1);
    }
    // torch: _rebuild_tensor_v2(storage, 0, (2^40, 2^40, 2^40), (1, 1, 1), False, OrderedDict())
    const big = pk(0x8a, 6, Buffer.from([0, 0, 0, 0, 0, 1])); // LONG1 2^40
    const storage = pk("(", str2("storage"), "ctorch\nFloatStorage\n", str2("0"), str2("cpu"), "K", 1, "tQ");
    const tensor = pk("ctorch._utils\n_rebuild_tensor_v2\n(", storage, "K", 0, "(", big, big, big, "t", "(K", 1, "K", 1, "K", 1, "t", 0x89, "ccollections\nOrderedDict\n)R", "tR");
    const dataPkl = pk(0x80, 2, "}", str2("w"), tensor, "s.");
    const zip = torchZip(dataPkl, "archive", [{ name: "archive/data/0", data: Buffer.alloc(4) }]);
    const r = await inspectTimed(tempFile("bigshape.pt", zip));
    assert.equal(r.exitCode, r.error ? 1 : 0);
    const dir = copyCase("training-state", "ok");
    writeFileSync(join(dir, "model.safetensors"), safetensors({ w: { dtype: "F32", shape: [2 ** 40, 2 ** 40, 2 ** 40], data_offsets: [0, 4] } }));
    const v = await verifyTimed(dir, LIMIT_MS, true);
    assert.equal(v.exitCode, 1);
  });

  it("dict keys __proto__ and constructor pollute no object", async () => {
    const evil = pk(0x80, 2, "}", str2("__proto__"), "}", str2("polluted"), "K", 1, "s", str2("constructor"), "}", str2("prototype"), "}", str2("polluted"), "K", 2, "sss", "s.");
    const r = await inspectTimed(tempFile("proto.pkl", evil));
    const json = JSON.parse(renderInspectJson(r)) as Record<string, unknown>;
    assert.ok(JSON.stringify(json).includes("__proto__"), "the key is shown as data");
    const st = Buffer.from('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"__proto__":"x"}}');
    await inspectTimed(tempFile("proto.safetensors", Buffer.concat([u64(st.length), st, Buffer.alloc(4)])));
    const dir = copyCase("training-state", "ok");
    writeFileSync(join(dir, "config.json"), '{"__proto__": {"polluted": 3}, "constructor": {"prototype": {"polluted": 4}}}');
    writeFileSync(join(dir, "training_state.pth"), torchZip(evil));
    await verifyTimed(dir);
    const hf = copyCase("hf-trainer", "cases/ok/checkpoint-500");
    writeFileSync(join(hf, "trainer_state.json"), '{"__proto__": {"global_step": 500, "polluted": 5}, "log_history": [{"__proto__": {"step": 1}}]}');
    await verifyTimed(hf);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined, "Object.prototype was polluted");
    assert.equal((Object.prototype as Record<string, unknown>)["polluted"], undefined);
  });
});
