import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { readRanges } from "../../src/storage/ranges.js";
import type { ByteSource } from "../../src/storage/types.js";

/** A 4,096-byte file of known bytes, opened for `fn`; file and folder removed after. */
async function withFile(fn: (f: RandomAccessFile, bytes: Buffer) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vc-ranges-"));
  try {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff));
    const path = join(dir, "f.bin");
    writeFileSync(path, bytes);
    const f = await RandomAccessFile.open(path);
    try {
      await fn(f, bytes);
    } finally {
      await f.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("many small reads (ByteSource.readInto, readRanges)", () => {
  it("readInto puts exactly the bytes a read returns where it is told, checks the range and the room, and counts what it read", () =>
    withFile(async (f, bytes) => {
      const buf = Buffer.alloc(100, 0xee);
      for (let i = 0; i < 300; i++) {
        const offset = (i * 997) % 4000;
        const length = (i * 13) % 90;
        const at = i % 10;
        buf.fill(0xee);
        f.readInto(buf, at, offset, length, "step records");
        assert.deepEqual(buf.subarray(at, at + length), bytes.subarray(offset, offset + length));
        // Nothing outside [at, at + length) is touched.
        assert.ok(buf.subarray(0, at).every((b) => b === 0xee) && buf.subarray(at + length).every((b) => b === 0xee));
      }
      const before = f.bytesRead;
      f.readInto(buf, 0, 10, 20);
      assert.equal(f.bytesRead - before, 20);
      // Past the end of the file: the same error as read, naming what was read; nothing read.
      assert.throws(() => f.readInto(buf, 0, 4090, 10, "step records"), /step records needs bytes 4090\.\.4100/);
      await assert.rejects(f.read(4090, 10, "step records"), /step records needs bytes 4090\.\.4100/);
      // The buffer must have room: 95 + 10 > 100.
      assert.throws(() => f.readInto(buf, 95, 0, 10, "step records"), (e: Error & { code?: string }) => e.code === "BAD_RANGE" && /do not fit at 95 of a 100-byte buffer/.test(e.message));
      assert.throws(() => f.readInto(buf, -1, 0, 10), (e: Error & { code?: string }) => e.code === "BAD_RANGE");
      assert.throws(() => f.readInto(buf, 0, -1, 10), (e: Error & { code?: string }) => e.code === "BAD_RANGE");
      // The edges: the last byte of the file, and a buffer filled exactly to its end.
      f.readInto(buf, 99, 4095, 1);
      assert.equal(buf[99], bytes[4095]);
    }));

  it("readRanges: one read per range, in the order given, for a source without readMany", () =>
    withFile(async (f, bytes) => {
      const ranges = Array.from({ length: 300 }, (_, i) => ({ offset: (i * 997) % 4000, length: (i * 13) % 90 }));
      const want = ranges.map((r) => bytes.subarray(r.offset, r.offset + r.length));
      const plain: ByteSource = { name: "plain", size: f.size, bytesRead: 0, read: (o, n, w) => f.read(o, n, w), close: async () => undefined };
      assert.deepEqual(await readRanges(plain, ranges), want);
      await assert.rejects(readRanges(plain, [{ offset: 4090, length: 10 }], "step records"), /step records needs bytes 4090\.\.4100/);
    }));
});
