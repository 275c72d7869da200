import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { readRanges, touchingSpans } from "../../src/storage/ranges.js";
import type { ByteSource } from "../../src/storage/types.js";

describe("many small ranges at once (ByteSource.readMany, readRanges)", () => {
  it("merges ranges that touch or overlap, never across a gap, in offset order whatever the order given", () => {
    const ranges = [
      { offset: 100, length: 10 }, // touches 110..120
      { offset: 0, length: 5 },
      { offset: 110, length: 10 },
      { offset: 6, length: 4 }, // one byte after 0..5: a gap
      { offset: 115, length: 20 }, // overlaps 110..120
      { offset: 500, length: 0 },
    ];
    const spans = touchingSpans(ranges, 1 << 20);
    assert.deepEqual(spans.map((s) => [s.start, s.end, s.members]), [[0, 5, [1]], [6, 10, [3]], [100, 135, [0, 2, 4]], [500, 500, [5]]]);
    // A span never grows past the limit, unless one range alone is longer.
    assert.deepEqual(touchingSpans([{ offset: 0, length: 8 }, { offset: 8, length: 8 }, { offset: 16, length: 20 }], 16).map((s) => [s.start, s.end]), [[0, 16], [16, 36]]);
  });

  it("returns exactly what one read per range returns, through the local file and through the fallback", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-ranges-"));
    try {
      const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff));
      const path = join(dir, "f.bin");
      writeFileSync(path, bytes);
      const ranges = Array.from({ length: 300 }, (_, i) => ({ offset: (i * 997) % 4000, length: (i * 13) % 90 }));
      const f = await RandomAccessFile.open(path);
      try {
        const want = ranges.map((r) => bytes.subarray(r.offset, r.offset + r.length));
        assert.deepEqual(await f.readMany(ranges), want);
        // Without readMany (a remote source that has not got one yet), one read per range.
        const plain: ByteSource = { name: "plain", size: f.size, bytesRead: 0, read: (o, n, w) => f.read(o, n, w), close: async () => undefined };
        assert.deepEqual(await readRanges(plain, ranges), want);
        const before = f.bytesRead;
        await f.readMany([{ offset: 0, length: 10 }, { offset: 5, length: 10 }]);
        assert.equal(f.bytesRead - before, 15, "overlapping ranges are read once");
        await assert.rejects(f.readMany([{ offset: 4090, length: 10 }], "step records"), /step records needs bytes 4090\.\.4100/);
      } finally {
        await f.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
