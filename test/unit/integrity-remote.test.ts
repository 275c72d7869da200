import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { streamJobs } from "../../src/integrity/remote.js";
import type { RegionJob } from "../../src/integrity/remote.js";
import type { ByteSource } from "../../src/storage/types.js";

/** A source whose stream() yields its bytes in pieces of `piece` bytes, recording each range asked for. */
function source(bytes: Buffer, piece: number, failAt?: number): ByteSource & { streams: [number, number][] } {
  const streams: [number, number][] = [];
  return {
    name: "mem://object",
    size: bytes.length,
    bytesRead: 0,
    streams,
    read: async (o, n) => bytes.subarray(o, o + n),
    close: async () => undefined,
    async *stream(offset, length) {
      streams.push([offset, offset + length]);
      for (let at = offset; at < offset + length; at += piece) {
        if (failAt !== undefined && at >= failAt && at < failAt + 1_000_000) throw new Error("connection reset");
        yield bytes.subarray(at, Math.min(offset + length, at + piece));
      }
    },
  };
}

describe("--deep over a stream", () => {
  // 3 float32 regions with a known number of NaNs, separated by small gaps (local headers), and one far away.
  const bytes = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
  const f32 = (offset: number, n: number, nans: number) => {
    for (let k = 0; k < n; k++) bytes.writeFloatLE(k < nans ? NaN : k * 0.5, offset + k * 4);
  };
  f32(100, 1000, 3);
  f32(4200, 5000, 0);
  f32(3 * 1024 * 1024, 2000, 7);
  const jobs: RegionJob[] = [
    { path: "", offset: 4200, length: 20_000, crc: true, dtype: "float32", bigEndian: false },
    { path: "", offset: 100, length: 4000, crc: true, dtype: "float32", bigEndian: false },
    { path: "", offset: 3 * 1024 * 1024, length: 8000, crc: false, dtype: "float32", bigEndian: false },
    { path: "", offset: 30_000, length: 0, crc: true, bigEndian: false },
  ];

  it("gives each job its CRC32 and NaN count, whatever the piece size; joins close jobs into one stream; reports progress", async () => {
    for (const piece of [1, 3, 4096, 65_536, 1 << 22]) {
      const src = source(bytes, piece);
      let progressed = 0;
      const results = await streamJobs(src, jobs, (n) => (progressed += n));
      assert.equal(results[0]!.crc, crc32(bytes.subarray(4200, 24_200)) >>> 0, `piece ${piece}`);
      assert.equal(results[1]!.crc, crc32(bytes.subarray(100, 4100)) >>> 0);
      assert.deepEqual(results.map((r) => r.nonFinite), [0, 3, 7, 0]);
      assert.deepEqual(results.map((r) => r.bytes), [20_000, 4000, 8000, 0]);
      assert.ok(results.every((r) => r.error === undefined));
      assert.equal(progressed, 32_000);
      // The first two jobs (gap 100 bytes) share a stream; the third, 3 MiB on, has its own.
      assert.deepEqual(src.streams, [[100, 24_200], [3 * 1024 * 1024, 3 * 1024 * 1024 + 8000]]);
    }
  });

  it("a stream that breaks marks the jobs it did not finish, and only those", async () => {
    const results = await streamJobs(source(bytes, 1024, 10_000), jobs);
    assert.equal(results[1]!.error, undefined);
    assert.match(results[0]!.error ?? "", /connection reset/);
    assert.equal(results[2]!.error, undefined);
  });
});
