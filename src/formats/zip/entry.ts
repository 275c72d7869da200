import type { Inflate } from "fflate";
import * as zlib from "node:zlib";
import { FormatError } from "../../core/errors.js";
import { loadInflate } from "./fflate.js";
import { entryNameBytes, type ZipArchive, type ZipEntry } from "./central-directory.js";

/**
 * Entry data: the local header is parsed on demand (its extra field may differ
 * from the central directory's, e.g. torch's 64-byte alignment padding), and
 * deflated entries are inflated in bounded steps so a bomb is caught early.
 */

const LFH_SIG = 0x04034b50;
const LFH_SIZE = 30;
/** Default cap on one entry's bytes in memory. */
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024 * 1024;
/** DEFLATE cannot expand more than ~1032:1; a declared size beyond that is a lie or a bomb. */
const MAX_DEFLATE_RATIO = 1032;
/** Compressed input fed per step: bounds the output of one step to ~16 MiB. */
const INFLATE_STEP = 16 * 1024;

const dataOffsets = new WeakMap<ZipEntry, number>();
/**
 * A stored record of at most SMALL_RECORD bytes is read together with its local header (one read
 * instead of two: an optimizer's `step` tensors are hundreds of such records). The read reaches
 * EXTRA_ALLOWANCE bytes past the name for the extra field (torch pads it to 64-byte alignment), so
 * it may take in the start of the next record's local header, never tensor bytes of another record.
 */
const smallRecords = new WeakMap<ZipEntry, Buffer>();
const SMALL_RECORD = 64;
const EXTRA_ALLOWANCE = 68;

/** A small stored record's bytes when its local header read brought them along. */
export function smallRecordBytes(e: ZipEntry): Buffer | undefined {
  return smallRecords.get(e);
}

function quoted(e: ZipEntry): string {
  return JSON.stringify(e.name);
}

/** Refuses entries whose bytes cannot be read as plain data. */
function checkReadable(e: ZipEntry, flags: number, at: number): void {
  if (flags & 0x1) {
    throw new FormatError("ZIP_ENCRYPTED", `zip entry ${quoted(e)} is encrypted (flag bit 0): its contents cannot be inspected`, at, { entry: e.name });
  }
  if (flags & 0x20) {
    throw new FormatError("ZIP_UNSUPPORTED", `zip entry ${quoted(e)} uses compressed patched data (flag bit 5), which is not supported`, at, { entry: e.name });
  }
  if (flags & 0x40) {
    throw new FormatError("ZIP_ENCRYPTED", `zip entry ${quoted(e)} uses strong encryption (flag bit 6): its contents cannot be inspected`, at, { entry: e.name });
  }
}

export async function entryDataOffset(zip: ZipArchive, e: ZipEntry): Promise<number> {
  const cached = dataOffsets.get(e);
  if (cached !== undefined) return cached;
  checkReadable(e, e.flags, e.localHeaderOffset);
  const at = e.localHeaderOffset;
  if (at + LFH_SIZE > zip.file.size) {
    throw new FormatError("ZIP_TRUNCATED", `local header of ${quoted(e)} at byte ${at} lies past the end of the file (${zip.file.size} bytes)`, at, { entry: e.name });
  }
  // One read covers the fixed header and, when the names agree, the local name too (and a small record's data).
  const small = e.method === 0 && e.compressedSize <= SMALL_RECORD;
  const want = LFH_SIZE + nameOf(e).length + (small ? EXTRA_ALLOWANCE + e.compressedSize : 0);
  const h = await zip.file.read(at, Math.min(want, zip.file.size - at), `local header of ${e.name}`);
  let start = checkLocalHeader(zip, e, h);
  if (start !== undefined && small && start - at + e.compressedSize <= h.length) smallRecords.set(e, h.subarray(start - at, start - at + e.compressedSize));
  if (start === undefined) {
    const nameLen = h.readUInt16LE(26);
    const local = await zip.file.read(at + LFH_SIZE, Math.min(nameLen, Math.max(0, zip.file.size - at - LFH_SIZE)), `local name of ${e.name}`);
    start = checkLocalHeader(zip, e, Buffer.concat([h.subarray(0, LFH_SIZE), local]));
  }
  return start!;
}

/**
 * Fills the data-offset cache for many entries with few reads: local headers
 * that lie close together (small storages) are read as one span. Entries that
 * fail here are left for entryDataOffset, which reports them precisely.
 */
export async function prefetchDataOffsets(zip: ZipArchive, entries: ZipEntry[]): Promise<void> {
  const todo = entries.filter((e) => !dataOffsets.has(e)).sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  let i = 0;
  while (i < todo.length) {
    const first = todo[i]!;
    let j = i + 1;
    let end = headerEnd(todo[i]!);
    while (j < todo.length) {
      const next = todo[j]!;
      // Coalesce only across small gaps, so a span never drags in much tensor data.
      if (next.localHeaderOffset - end > PREFETCH_GAP || headerEnd(next) - first.localHeaderOffset > PREFETCH_SPAN) break;
      end = Math.max(end, headerEnd(next));
      j++;
    }
    const span = await zip.file.read(first.localHeaderOffset, Math.min(end, zip.file.size) - first.localHeaderOffset, "zip local headers");
    for (let k = i; k < j; k++) {
      const e = todo[k]!;
      const rel = e.localHeaderOffset - first.localHeaderOffset;
      try {
        checkReadable(e, e.flags, e.localHeaderOffset);
        checkLocalHeader(zip, e, span.subarray(rel, rel + LFH_SIZE + nameOf(e).length));
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
      }
    }
    i = j;
  }
}

const PREFETCH_GAP = 4096;
const PREFETCH_SPAN = 1024 * 1024;

function nameOf(e: ZipEntry): Uint8Array {
  return entryNameBytes.get(e) ?? new TextEncoder().encode(e.name);
}

function headerEnd(e: ZipEntry): number {
  return e.localHeaderOffset + LFH_SIZE + nameOf(e).length;
}

/**
 * Validates a local header held in `h` (fixed part + name). Returns the data offset, or undefined when
 * `h` does not hold the whole local name (the caller reads it and calls again).
 */
function checkLocalHeader(zip: ZipArchive, e: ZipEntry, h: Buffer): number | undefined {
  const at = e.localHeaderOffset;
  if (h.length < LFH_SIZE) {
    throw new FormatError("ZIP_TRUNCATED", `local header of ${quoted(e)} at byte ${at} lies past the end of the file (${zip.file.size} bytes)`, at, { entry: e.name });
  }
  if (h.readUInt32LE(0) !== LFH_SIG) {
    throw new FormatError("ZIP_BAD_LOCAL_HEADER", `no local header signature at byte ${at}, where the central directory places ${quoted(e)}`, at, { entry: e.name });
  }
  checkReadable(e, h.readUInt16LE(6), at);
  const method = h.readUInt16LE(8);
  if (method !== e.method) {
    throw new FormatError("ZIP_BAD_LOCAL_HEADER", `local header of ${quoted(e)} says compression method ${method}, the central directory says ${e.method}`, at, { entry: e.name });
  }
  const nameLen = h.readUInt16LE(26);
  const extraLen = h.readUInt16LE(28);
  if (at + LFH_SIZE + nameLen > zip.file.size) {
    throw new FormatError("ZIP_TRUNCATED", `local header of ${quoted(e)} at byte ${at} runs past the end of the file (${zip.file.size} bytes)`, at, { entry: e.name });
  }
  if (h.length < LFH_SIZE + nameLen) return undefined;
  // Same name in both headers, byte for byte: a mismatch lets two readers see two different archives.
  const local = h.subarray(LFH_SIZE, LFH_SIZE + nameLen);
  if (!bytesEqual(local, nameOf(e))) {
    const shown = local.toString("latin1", 0, 200);
    throw new FormatError(
      "ZIP_NAME_MISMATCH",
      `zip entry ${quoted(e)} has the name ${JSON.stringify(shown)} in its local header at byte ${at}: the two headers disagree (a zip-confusion trick)`,
      at,
      { entry: e.name, localName: shown },
    );
  }
  const start = at + LFH_SIZE + nameLen + extraLen;
  if (start + e.compressedSize > zip.file.size) {
    throw new FormatError("ZIP_TRUNCATED", `data of ${quoted(e)} needs bytes ${start}..${start + e.compressedSize} but the file has only ${zip.file.size} bytes`, start, { entry: e.name });
  }
  dataOffsets.set(e, start);
  return start;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The whole entry, inflated if needed, CRC-checked when the archive recorded a CRC (torch may write 0). */
export async function readEntry(zip: ZipArchive, e: ZipEntry, maxBytes = DEFAULT_MAX_ENTRY_BYTES): Promise<Uint8Array> {
  const start = await entryDataOffset(zip, e);
  let out: Uint8Array;
  if (e.method === 0) {
    if (e.compressedSize !== e.uncompressedSize) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `stored entry ${quoted(e)} has compressed size ${e.compressedSize} but uncompressed size ${e.uncompressedSize}`, e.localHeaderOffset, { entry: e.name });
    }
    if (e.uncompressedSize > maxBytes) {
      throw new FormatError("ZIP_ENTRY_TOO_LARGE", `zip entry ${quoted(e)} is ${e.uncompressedSize} bytes, over the ${maxBytes}-byte limit for reading it into memory`, start, { entry: e.name, limit: maxBytes });
    }
    out = smallRecords.get(e) ?? (await zip.file.read(start, e.compressedSize, `zip entry ${e.name}`));
  } else if (e.method === 8) {
    checkBomb(e, maxBytes, start);
    const input = await zip.file.read(start, e.compressedSize, `zip entry ${e.name}`);
    out = inflateCapped(e, input, start, await loadInflate());
  } else {
    throw new FormatError("ZIP_UNSUPPORTED", `zip entry ${quoted(e)} uses compression method ${e.method}; only stored (0) and deflate (8) are supported`, e.localHeaderOffset, { entry: e.name, method: e.method });
  }
  if (e.crc32 !== 0 && typeof zlib.crc32 === "function") {
    const actual = zlib.crc32(out) >>> 0;
    if (actual !== e.crc32) {
      throw new FormatError("ZIP_CRC_MISMATCH", `zip entry ${quoted(e)} is corrupt: CRC-32 ${hex(actual)} but the archive records ${hex(e.crc32)}`, start, { entry: e.name });
    }
  }
  return out;
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

function checkBomb(e: ZipEntry, maxBytes: number, at: number): void {
  if (e.uncompressedSize > maxBytes) {
    throw new FormatError("ZIP_BOMB", `zip entry ${quoted(e)} declares ${e.uncompressedSize} uncompressed bytes, over the ${maxBytes}-byte limit`, at, { entry: e.name, limit: maxBytes });
  }
  if (e.uncompressedSize > e.compressedSize * MAX_DEFLATE_RATIO + 1024) {
    throw new FormatError("ZIP_BOMB", `zip entry ${quoted(e)} declares ${e.uncompressedSize} bytes from ${e.compressedSize} compressed bytes, a ratio DEFLATE cannot produce`, at, { entry: e.name });
  }
}

/** Inflates step by step and stops as soon as the output passes the declared size. */
function inflateCapped(e: ZipEntry, input: Uint8Array, at: number, InflateClass: typeof Inflate): Uint8Array {
  let out: Uint8Array;
  try {
    out = new Uint8Array(e.uncompressedSize);
  } catch {
    throw new FormatError("ZIP_ENTRY_TOO_LARGE", `zip entry ${quoted(e)} needs ${e.uncompressedSize} bytes of memory, which cannot be allocated`, at, { entry: e.name });
  }
  let written = 0;
  let done = false;
  const inflater = new InflateClass((chunk, final) => {
    if (written + chunk.length > out.length) {
      throw new FormatError("ZIP_BOMB", `zip entry ${quoted(e)} inflates to more than its declared ${e.uncompressedSize} bytes`, at, { entry: e.name });
    }
    out.set(chunk, written);
    written += chunk.length;
    if (final) done = true;
  });
  try {
    if (input.length === 0) inflater.push(input, true);
    for (let p = 0; p < input.length; p += INFLATE_STEP) {
      inflater.push(input.subarray(p, p + INFLATE_STEP), p + INFLATE_STEP >= input.length);
    }
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError("ZIP_BAD_DEFLATE", `zip entry ${quoted(e)} holds invalid DEFLATE data: ${(err as Error)?.message ?? String(err)}`, at, { entry: e.name });
  }
  if (!done || written !== out.length) {
    throw new FormatError("ZIP_TRUNCATED", `zip entry ${quoted(e)} inflated to ${written} bytes but declares ${e.uncompressedSize}`, at, { entry: e.name });
  }
  return out;
}
