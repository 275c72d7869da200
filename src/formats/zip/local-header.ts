import { FormatError } from "../../core/errors.js";
import type { ByteRange } from "../../storage/types.js";
import type { ZipArchive } from "./archive.js";

/**
 * Where a record's data starts: its local header is read on demand and checked
 * against the central directory (its extra field may differ, e.g. torch's
 * 64-byte alignment padding; its name must not). The offset is kept in the
 * archive's `dataOffset` column. Records are addressed by index: a torch
 * checkpoint can have hundreds of thousands.
 */

const LFH_SIG = 0x04034b50;
export const LFH_SIZE = 30;

/**
 * A stored record of at most SMALL_RECORD bytes is read together with its local header (one read
 * instead of two: an optimizer's `step` tensors are hundreds of thousands of such records). The read
 * reaches EXTRA_ALLOWANCE bytes past the name for the extra field (torch pads it to 64-byte
 * alignment), so it may take in the start of the next record's local header, never tensor bytes of
 * another record.
 */
export const SMALL_RECORD = 64;
const EXTRA_ALLOWANCE = 68;
/** prefetchDataOffsets reads local headers that lie this close together as one span, of at most PREFETCH_SPAN bytes. */
const PREFETCH_GAP = 4096;
const PREFETCH_SPAN = 1024 * 1024;

function quoted(zip: ZipArchive, i: number): string {
  return JSON.stringify(zip.nameOf(i));
}

/** Refuses records whose bytes cannot be read as plain data. */
export function checkReadable(zip: ZipArchive, i: number, flags: number, at: number): void {
  if (flags & 0x1) {
    throw new FormatError("ZIP_ENCRYPTED", `zip entry ${quoted(zip, i)} is encrypted (flag bit 0): its contents cannot be inspected`, at, { entry: zip.nameOf(i) });
  }
  if (flags & 0x20) {
    throw new FormatError("ZIP_UNSUPPORTED", `zip entry ${quoted(zip, i)} uses compressed patched data (flag bit 5), which is not supported`, at, { entry: zip.nameOf(i) });
  }
  if (flags & 0x40) {
    throw new FormatError("ZIP_ENCRYPTED", `zip entry ${quoted(zip, i)} uses strong encryption (flag bit 6): its contents cannot be inspected`, at, { entry: zip.nameOf(i) });
  }
}

export async function dataOffsetAt(zip: ZipArchive, i: number): Promise<number> {
  const known = zip.dataOffset[i]!;
  if (known >= 0) return known;
  const at = zip.localHeaderOffset[i]!;
  checkReadable(zip, i, zip.flags[i]!, at);
  if (at + LFH_SIZE > zip.file.size) {
    throw new FormatError("ZIP_TRUNCATED", `local header of ${quoted(zip, i)} at byte ${at} lies past the end of the file (${zip.file.size} bytes)`, at, { entry: zip.nameOf(i) });
  }
  // One read covers the fixed header and, when the names agree, the local name too.
  const h = await zip.file.read(at, Math.min(LFH_SIZE + zip.nameLength[i]!, zip.file.size - at), `local header of ${zip.nameOf(i)}`);
  return checkLocalHeader(zip, i, h) ?? (await readLocalName(zip, i, h));
}

/** The local name is longer than the central directory's: read it whole, then check. */
async function readLocalName(zip: ZipArchive, i: number, h: Buffer): Promise<number> {
  const at = zip.localHeaderOffset[i]!;
  const nameLen = h.readUInt16LE(26);
  const local = await zip.file.read(at + LFH_SIZE, Math.min(nameLen, Math.max(0, zip.file.size - at - LFH_SIZE)), `local name of ${zip.nameOf(i)}`);
  return checkLocalHeader(zip, i, Buffer.concat([h.subarray(0, LFH_SIZE), local]))!;
}

/** Where a small stored record's local header and bytes lie, to be read in one range (see SMALL_RECORD). */
export function smallRecordRange(zip: ZipArchive, i: number): ByteRange {
  return { offset: zip.localHeaderOffset[i]!, length: smallRecordLength(zip, i) };
}

/** smallRecordRange's length: at most SMALL_RECORD_READ bytes. */
export function smallRecordLength(zip: ZipArchive, i: number): number {
  const at = zip.localHeaderOffset[i]!;
  return Math.max(0, Math.min(LFH_SIZE + zip.nameLength[i]! + EXTRA_ALLOWANCE + Math.min(zip.compressedSize[i]!, SMALL_RECORD), zip.file.size - at));
}

/** The most bytes smallRecordRange spans: a buffer this long holds any small record with its header. */
export const SMALL_RECORD_READ = LFH_SIZE + 0xffff + EXTRA_ALLOWANCE + SMALL_RECORD;

/**
 * Where a small stored record's bytes start within `h`, the range smallRecordRange gave, its local
 * header checked (and its data offset kept) first; -1 when the range fell short (read it the usual
 * way). Synchronous: it runs once per optimizer `step`, tens of thousands of times.
 */
export function smallRecordStart(zip: ZipArchive, i: number, h: Buffer): number {
  const size = zip.compressedSize[i]!;
  if (zip.method[i] !== 0 || size > SMALL_RECORD || size !== zip.uncompressedSize[i]) return -1;
  return recordStartIn(zip, i, h);
}

/**
 * Where stored record i's bytes start within `h`, which holds the file from the record's local
 * header on (at `base`; bytes up to `end` valid): the header is checked (and the data offset kept)
 * first. -1 when `h` does not hold the whole header and data. Throws what dataOffsetAt throws for a
 * bad header.
 */
export function recordStartIn(zip: ZipArchive, i: number, h: Buffer, base = 0, end = h.length): number {
  checkReadable(zip, i, zip.flags[i]!, zip.localHeaderOffset[i]!);
  const known = zip.dataOffset[i]!;
  const start = known >= 0 ? known : checkLocalHeader(zip, i, h, base, end);
  if (start === undefined) return -1;
  const rel = base + start - zip.localHeaderOffset[i]!;
  return rel + zip.compressedSize[i]! <= end ? rel : -1;
}

/**
 * Fills the data-offset column for many records with few reads: local headers
 * that lie close together (small storages) are read as one span. Records that
 * fail here are left for dataOffsetAt, which reports them precisely.
 */
export async function prefetchDataOffsets(zip: ZipArchive, records: readonly number[]): Promise<void> {
  const todo = records.filter((i) => zip.dataOffset[i]! < 0).sort((a, b) => zip.localHeaderOffset[a]! - zip.localHeaderOffset[b]!);
  const headerEnd = (i: number) => zip.localHeaderOffset[i]! + LFH_SIZE + zip.nameLength[i]!;
  let k = 0;
  while (k < todo.length) {
    const first = zip.localHeaderOffset[todo[k]!]!;
    let j = k + 1;
    let end = headerEnd(todo[k]!);
    // Coalesce only across small gaps, so a span never drags in much tensor data.
    while (j < todo.length && zip.localHeaderOffset[todo[j]!]! - end <= PREFETCH_GAP && headerEnd(todo[j]!) - first <= PREFETCH_SPAN) {
      end = Math.max(end, headerEnd(todo[j]!));
      j++;
    }
    const span = await zip.file.read(first, Math.min(end, zip.file.size) - first, "zip local headers");
    for (let m = k; m < j; m++) {
      const i = todo[m]!;
      const rel = zip.localHeaderOffset[i]! - first;
      try {
        checkReadable(zip, i, zip.flags[i]!, zip.localHeaderOffset[i]!);
        checkLocalHeader(zip, i, span, rel, Math.min(span.length, rel + LFH_SIZE + zip.nameLength[i]!));
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
      }
    }
    k = j;
  }
}

/**
 * Validates the local header held in `h` from `base` (fixed part + name; bytes up to `end` are
 * valid). Returns the data offset, or undefined when `h` does not hold the whole local name (the
 * caller reads it and calls again). Offsets instead of a subarray: this runs once per record.
 */
function checkLocalHeader(zip: ZipArchive, i: number, h: Buffer, base = 0, end = h.length): number | undefined {
  const at = zip.localHeaderOffset[i]!;
  if (end - base < LFH_SIZE) throw localError(zip, i, "ZIP_TRUNCATED", `local header of ${quoted(zip, i)} at byte ${at} lies past the end of the file (${zip.file.size} bytes)`, at);
  if (h.readUInt32LE(base) !== LFH_SIG) throw localError(zip, i, "ZIP_BAD_LOCAL_HEADER", `no local header signature at byte ${at}, where the central directory places ${quoted(zip, i)}`, at);
  checkReadable(zip, i, h.readUInt16LE(base + 6), at);
  const method = h.readUInt16LE(base + 8);
  if (method !== zip.method[i]) {
    throw localError(zip, i, "ZIP_BAD_LOCAL_HEADER", `local header of ${quoted(zip, i)} says compression method ${method}, the central directory says ${zip.method[i]}`, at);
  }
  const nameLen = h.readUInt16LE(base + 26);
  const extraLen = h.readUInt16LE(base + 28);
  if (at + LFH_SIZE + nameLen > zip.file.size) {
    throw localError(zip, i, "ZIP_TRUNCATED", `local header of ${quoted(zip, i)} at byte ${at} runs past the end of the file (${zip.file.size} bytes)`, at);
  }
  if (end - base < LFH_SIZE + nameLen) return undefined;
  // Same name in both headers, byte for byte: a mismatch lets two readers see two different archives.
  if (!sameName(h, base + LFH_SIZE, zip.nameBytes, zip.nameAt[i]!, zip.nameLength[i]!, nameLen)) {
    const shown = h.toString("latin1", base + LFH_SIZE, base + LFH_SIZE + Math.min(nameLen, 200));
    throw localError(
      zip,
      i,
      "ZIP_NAME_MISMATCH",
      `zip entry ${quoted(zip, i)} has the name ${JSON.stringify(shown)} in its local header at byte ${at}: the two headers disagree (a zip-confusion trick)`,
      at,
      { localName: shown },
    );
  }
  const start = at + LFH_SIZE + nameLen + extraLen;
  const size = zip.compressedSize[i]!;
  if (start + size > zip.file.size) {
    throw localError(zip, i, "ZIP_TRUNCATED", `data of ${quoted(zip, i)} needs bytes ${start}..${start + size} but the file has only ${zip.file.size} bytes`, start);
  }
  zip.dataOffset[i] = start;
  return start;
}

function localError(zip: ZipArchive, i: number, code: string, message: string, offset: number, data: Record<string, unknown> = {}): FormatError {
  return new FormatError(code, message, offset, { entry: zip.nameOf(i), ...data });
}

/** The local name (at `from` in `h`) equals the central directory's bytes (at `at` in `names`). */
function sameName(h: Uint8Array, from: number, names: Uint8Array, at: number, length: number, localLength: number): boolean {
  if (localLength !== length) return false;
  for (let k = 0; k < length; k++) if (h[from + k] !== names[at + k]) return false;
  return true;
}
