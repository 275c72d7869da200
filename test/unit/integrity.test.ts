import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { runJobs } from "../../src/integrity/pool.js";
import { countNonFinite } from "../../src/integrity/nonfinite.js";
import type { SpanJob } from "../../src/integrity/span.js";
import { scanInline } from "../../src/integrity/inline.js";
import { readZip } from "../../src/formats/zip/index.js";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { buildZip, type TestEntry } from "./zip-writer.js";

const MiB = 1024 * 1024;
const span = (path: string, ranges: [number, number, string][], crc: boolean): SpanJob => ({
  path,
  starts: Float64Array.from(ranges, (r) => r[0]),
  ends: Float64Array.from(ranges, (r) => r[1]),
  dtypes: ranges.map((r) => r[2]),
  crc,
  bigEndian: false,
});

describe("--deep span jobs", () => {
  it("give the same CRC32 and NaN/Inf counts on worker threads as in this thread, in job order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-pool-"));
    try {
      const floats = new Float32Array(3 * MiB); // 12 MiB: more than one 8 MiB chunk
      for (let i = 0; i < floats.length; i++) floats[i] = Math.sin(i);
      floats[5] = NaN;
      floats[floats.length - 1] = -Infinity;
      floats[MiB + 7] = Infinity; // inside the third job's range (bytes 4..8 MiB)
      const bytes = Buffer.from(floats.buffer);
      const path = join(dir, "f32.bin");
      writeFileSync(path, bytes);
      const end = bytes.length;
      const jobs: SpanJob[] = [
        span(path, [[0, end, "float32"]], true),
        span(path, [[0, 4096, ""]], true),
        span(path, [[4 * MiB, 8 * MiB, "float32"]], false),
        span(path, [[end - 8, end + 8, ""]], true),
        // Many small records read together: each its own CRC and count, the bytes between them read but not counted.
        span(path, [[0, 16, "float32"], [16, 1000, "float32"], [2048, 4096, ""], [end - 4096, end, "float32"]], true),
        // A record past the end stops the job there: the records before it are complete.
        span(path, [[0, 4, "float32"], [end, end + 4, ""]], true),
      ];
      let progressed = 0;
      const inThread = await runJobs(jobs, undefined);
      const threaded = await runJobs(jobs, (n) => (progressed += n), 0);
      assert.deepEqual(threaded, inThread);
      assert.equal(threaded[0]!.crc[0], crc32(bytes) >>> 0);
      assert.equal(threaded[0]!.nonFinite[0], 3);
      assert.equal(threaded[1]!.crc[0], crc32(bytes.subarray(0, 4096)) >>> 0);
      assert.equal(threaded[2]!.nonFinite[0], 1);
      assert.match(threaded[3]!.error!, /the file ended at byte \d+/);
      assert.equal(threaded[3]!.failedFrom, 0);
      const small = threaded[4]!;
      assert.deepEqual([...small.crc], [crc32(bytes.subarray(0, 16)) >>> 0, crc32(bytes.subarray(16, 1000)) >>> 0, crc32(bytes.subarray(2048, 4096)) >>> 0, crc32(bytes.subarray(end - 4096)) >>> 0]);
      assert.deepEqual([...small.nonFinite], [0, 1, 0, 1]); // floats[5] is NaN (bytes 20..24); the last float is -Infinity
      assert.equal(small.failedFrom, undefined);
      assert.deepEqual([threaded[5]!.failedFrom, threaded[5]!.crc[0]], [1, crc32(bytes.subarray(0, 4)) >>> 0]);
      // A failed read reports no progress; records read together report the span they were read in.
      assert.equal(progressed, end + 4096 + 4 * MiB + 4096 + (end - (end - 4096)) + 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("counts non-finite values by dtype, little- and big-endian", () => {
    const f64 = new Float64Array([1, NaN, Infinity, -0, 3]);
    assert.equal(countNonFinite(new Uint8Array(f64.buffer), "float64"), 2);
    const h = new Uint16Array([0x3c00, 0x7c00, 0xfc00, 0x7e00, 0x0001]); // float16: 1, inf, -inf, NaN, subnormal
    assert.equal(countNonFinite(new Uint8Array(h.buffer), "float16"), 3);
    const bf = new Uint16Array([0x3f80, 0x7f80, 0x7fc0]); // bfloat16: 1, inf, NaN
    assert.equal(countNonFinite(new Uint8Array(bf.buffer), "bfloat16"), 2);
    const be = Buffer.alloc(8);
    be.writeFloatBE(NaN, 0);
    be.writeFloatBE(2, 4);
    assert.equal(countNonFinite(be, "float32", true), 1);
    assert.equal(countNonFinite(new Uint8Array(8), "int64"), 0);
  });
});

describe("NaN/Inf counts on bytes at any alignment", () => {
  it("counts the same in a buffer that starts at an odd offset of a shared pool", () => {
    const floats = new Float32Array([1, NaN, 2, Infinity, -Infinity, 3]);
    const half = new Uint16Array([0x3c00, 0x7c00, 0x7e00]);
    const doubles = new Float64Array([NaN, 1, -Infinity]);
    for (const [data, dtype, want] of [[new Uint8Array(floats.buffer), "float32", 3], [new Uint8Array(half.buffer), "float16", 2], [new Uint8Array(doubles.buffer), "float64", 2]] as const) {
      for (const shift of [1, 2, 3, 5]) {
        const pool = Buffer.alloc(4096); // a Buffer whose .buffer is larger than the bytes looked at
        pool.set(data, shift);
        assert.equal(countNonFinite(pool.subarray(shift, shift + data.length), dtype), want, `${dtype} at +${shift}`);
      }
    }
  });
});

describe("--deep small records in this thread", () => {
  it("reads records that follow one another together, checks each header, and never reads a large record between them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-inline-"));
    try {
      const small = (n: number, fill: number) => new Uint8Array(n).fill(fill);
      const floats = new Float32Array([1, NaN, 2, 3]);
      const entries: TestEntry[] = [
        { name: "a/data/0", data: small(16, 1), localExtra: 30 },
        { name: "a/data/1", data: new Uint8Array(2 * 1024 * 1024 + 3).fill(7) }, // large: the pool's
        { name: "a/data/2", data: new Uint8Array(floats.buffer), localExtra: 5 },
        { name: "a/data/3", data: small(40, 9) },
        { name: "a/data/4", data: small(8, 2), localName: "a/data/X" }, // a bad local header: this record only
      ];
      const path = join(dir, "z.zip");
      writeFileSync(path, buildZip(entries));
      const f = await RandomAccessFile.open(path);
      try {
        const zip = await readZip(f);
        const order = [0, 1, 2, 3, 4];
        const bounds = order.map((i) => (i + 1 < zip.count ? zip.localHeaderOffset[i + 1]! : zip.directoryOffset));
        const records = [0, 2, 3, 4];
        const before = f.bytesRead;
        const out = await scanInline(zip, records, Float64Array.from(records.map((i) => bounds[i]!)), ["", "float32", "", ""], false);
        assert.deepEqual([...out.result.crc.slice(0, 3)], [0, 2, 3].map((i) => crc32(entries[i]!.data) >>> 0));
        assert.deepEqual([...out.result.nonFinite], [0, 1, 0, 0]);
        assert.deepEqual([...out.failed.keys()], [4]);
        assert.match(out.failed.get(4)!, /local header/);
        assert.ok(f.bytesRead - before < 1024 * 1024, `read ${f.bytesRead - before} bytes: the large record was read too`);
      } finally {
        await f.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
