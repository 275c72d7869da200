import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { runJobs } from "../../src/integrity/pool.js";
import { countNonFinite } from "../../src/integrity/nonfinite.js";
import type { RegionJob } from "../../src/integrity/region.js";

describe("--deep region jobs", () => {
  it("give the same CRC32 and NaN/Inf counts on worker threads as in this thread, in job order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-pool-"));
    try {
      const floats = new Float32Array(3 * 1024 * 1024); // 12 MiB: more than one 8 MiB chunk
      for (let i = 0; i < floats.length; i++) floats[i] = Math.sin(i);
      floats[5] = NaN;
      floats[floats.length - 1] = -Infinity;
      floats[1024 * 1024 + 7] = Infinity; // inside the third job's range (bytes 4..8 MiB)
      const bytes = Buffer.from(floats.buffer);
      const path = join(dir, "f32.bin");
      writeFileSync(path, bytes);
      const jobs: RegionJob[] = [
        { path, offset: 0, length: bytes.length, crc: true, dtype: "float32", bigEndian: false },
        { path, offset: 0, length: 4096, crc: true, bigEndian: false },
        { path, offset: 4 * 1024 * 1024, length: 4 * 1024 * 1024, crc: false, dtype: "float32", bigEndian: false },
        { path, offset: bytes.length - 8, length: 16, crc: true, bigEndian: false },
      ];
      let progressed = 0;
      const inThread = await runJobs(jobs, undefined);
      const threaded = await runJobs(jobs, (n) => (progressed += n), 0);
      assert.deepEqual(threaded, inThread);
      assert.equal(threaded[0]!.crc, crc32(bytes) >>> 0);
      assert.equal(threaded[0]!.nonFinite, 3);
      assert.equal(threaded[1]!.crc, crc32(bytes.subarray(0, 4096)) >>> 0);
      assert.equal(threaded[2]!.nonFinite, 1);
      assert.match(threaded[3]!.error!, /the file ended at byte \d+/);
      assert.equal(progressed, bytes.length + 4096 + 4 * 1024 * 1024); // the failed read reports no progress
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
