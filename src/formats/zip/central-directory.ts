import { FormatError } from "../../core/errors.js";
import type { ByteSource } from "../../storage/types.js";

/**
 * Reads a zip's central directory with a handful of positioned reads: the
 * tail (to find the end record), the ZIP64 records, then the directory itself.
 * Entry data is never touched here; see entry.ts.
 */

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipArchive {
  file: ByteSource;
  entries: ZipEntry[];
  byName: Map<string, ZipEntry>;
  comment?: string;
}

const EOCD_SIG = 0x06054b50;
const EOCD64_SIG = 0x06064b50;
const LOCATOR_SIG = 0x07064b50;
const CDH_SIG = 0x02014b50;
const EOCD_SIZE = 22;
const LOCATOR_SIZE = 20;
const EOCD64_SIZE = 56;
const CDH_SIZE = 46;
/** The end record plus the longest possible comment: nothing further back can be it. */
const TAIL_SCAN = EOCD_SIZE + 0xffff + LOCATOR_SIZE;
/** A central directory larger than this is refused rather than read into memory (~4M torch entries). */
export const MAX_CENTRAL_DIRECTORY = 512 * 1024 * 1024;

/** Raw name bytes, kept out of the public entry so the local-header check compares bytes, not lossy decodings. */
export const entryNameBytes = new WeakMap<ZipEntry, Uint8Array>();

export function isZipSignature(first4: Uint8Array): boolean {
  return first4.length >= 4 && first4[0] === 0x50 && first4[1] === 0x4b && first4[2] === 0x03 && first4[3] === 0x04;
}

/** Central directories already parsed, by handle: a file sniffed and then decoded is parsed once. */
const parsed = new WeakMap<ByteSource, ZipArchive>();

export async function readZip(file: ByteSource): Promise<ZipArchive> {
  const known = parsed.get(file);
  if (known) return known;
  const zip = await parseZip(file);
  parsed.set(file, zip);
  return zip;
}

async function parseZip(file: ByteSource): Promise<ZipArchive> {
  const end = await findEnd(file);
  let { entryCount, cdSize, cdOffset } = end;
  // The ZIP64 records win when present: torch always writes them and clamps the classic fields.
  const z64 = await readZip64(file, end.eocdOffset);
  const cdLimit = z64 ? z64.recordOffset : end.eocdOffset;
  if (z64) ({ entryCount, cdSize, cdOffset } = z64);
  else if (entryCount === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", "the end record has ZIP64 placeholder values but no ZIP64 locator precedes it", end.eocdOffset);
  }
  if (cdOffset + cdSize > cdLimit) {
    // Either the file lost bytes in the middle, or the record lies; both leave the directory unreadable.
    const code = cdOffset + cdSize > file.size ? "ZIP_TRUNCATED" : "ZIP_BAD_CENTRAL_DIRECTORY";
    throw new FormatError(code, `central directory at bytes ${cdOffset}..${cdOffset + cdSize} overlaps the end records at byte ${cdLimit} (file size ${file.size})`, cdOffset);
  }
  if (entryCount * CDH_SIZE > cdSize) {
    throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `the end record claims ${entryCount} entries but the central directory is only ${cdSize} bytes (at least ${CDH_SIZE} per entry)`, end.eocdOffset);
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY) {
    throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `central directory of ${cdSize} bytes exceeds the ${MAX_CENTRAL_DIRECTORY}-byte limit`, cdOffset);
  }
  const cd = await file.read(cdOffset, cdSize, "zip central directory");
  const entries = parseCentralDirectory(cd, cdOffset, entryCount, cdOffset);
  const byName = new Map<string, ZipEntry>();
  for (const e of entries) {
    // Two entries with one name let a scanner and a loader read different bytes: refuse.
    if (byName.has(e.name)) throw new FormatError("ZIP_DUPLICATE_NAME", `the zip has two entries named ${JSON.stringify(e.name)}`, e.localHeaderOffset, { entry: e.name });
    byName.set(e.name, e);
  }
  const archive: ZipArchive = { file, entries, byName };
  if (end.comment.length > 0) archive.comment = decodeName(end.comment, 0);
  return archive;
}

interface EndRecord { eocdOffset: number; entryCount: number; cdSize: number; cdOffset: number; comment: Uint8Array }

async function findEnd(file: ByteSource): Promise<EndRecord> {
  const noEnd = () => new FormatError("ZIP_NO_END_RECORD", "no end-of-central-directory record: the file is truncated or not a zip", undefined, { size: file.size });
  if (file.size < EOCD_SIZE) throw noEnd();
  // Most archives have no comment: look at the last 1 KiB first, the full 64 KiB window only if needed.
  const found = (await scanTail(file, Math.min(file.size, 1024))) ?? (file.size > 1024 ? await scanTail(file, Math.min(file.size, TAIL_SCAN)) : undefined);
  if (!found) throw noEnd();
  return found;
}

async function scanTail(file: ByteSource, tailLen: number): Promise<EndRecord | undefined> {
  const tailStart = file.size - tailLen;
  const tail = await file.read(tailStart, tailLen, "zip end record search");
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let overrun: number | undefined;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (dv.getUint32(i, true) !== EOCD_SIG) continue;
    const commentLen = dv.getUint16(i + 20, true);
    if (i + EOCD_SIZE + commentLen > tailLen) {
      overrun ??= tailStart + i; // a signature whose comment runs off the end: likely a cut file
      continue;
    }
    const disk = dv.getUint16(i + 4, true);
    const cdDisk = dv.getUint16(i + 6, true);
    if ((disk !== 0 && disk !== 0xffff) || (cdDisk !== 0 && cdDisk !== 0xffff)) {
      throw new FormatError("ZIP_UNSUPPORTED", `multi-disk (spanned) zip archives are not supported (disk ${disk})`, tailStart + i);
    }
    return {
      eocdOffset: tailStart + i,
      entryCount: dv.getUint16(i + 10, true),
      cdSize: dv.getUint32(i + 12, true),
      cdOffset: dv.getUint32(i + 16, true),
      comment: tail.subarray(i + EOCD_SIZE, i + EOCD_SIZE + commentLen),
    };
  }
  if (overrun !== undefined && tailLen === Math.min(file.size, TAIL_SCAN)) {
    throw new FormatError("ZIP_TRUNCATED", `the end-of-central-directory record at byte ${overrun} declares a comment that runs past the end of the file (${file.size} bytes)`, overrun);
  }
  return undefined;
}

interface Zip64End { recordOffset: number; entryCount: number; cdSize: number; cdOffset: number }

async function readZip64(file: ByteSource, eocdOffset: number): Promise<Zip64End | undefined> {
  if (eocdOffset < LOCATOR_SIZE) return undefined;
  const loc = await file.read(eocdOffset - LOCATOR_SIZE, LOCATOR_SIZE, "zip64 locator");
  if (loc.readUInt32LE(0) !== LOCATOR_SIG) return undefined;
  const locOffset = eocdOffset - LOCATOR_SIZE;
  const recordOffset = u64(loc, 8, "ZIP64 end record offset", locOffset);
  if (recordOffset + EOCD64_SIZE > locOffset) {
    const code = recordOffset + EOCD64_SIZE > file.size ? "ZIP_TRUNCATED" : "ZIP_BAD_CENTRAL_DIRECTORY";
    throw new FormatError(code, `the ZIP64 locator points at byte ${recordOffset}, which leaves no room for the ZIP64 end record before the locator at byte ${locOffset}`, locOffset);
  }
  const rec = await file.read(recordOffset, EOCD64_SIZE, "zip64 end record");
  if (rec.readUInt32LE(0) !== EOCD64_SIG) {
    throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `no ZIP64 end record signature at byte ${recordOffset}, where the ZIP64 locator points`, recordOffset);
  }
  if (rec.readUInt32LE(16) !== 0 || rec.readUInt32LE(20) !== 0) {
    throw new FormatError("ZIP_UNSUPPORTED", "multi-disk (spanned) ZIP64 archives are not supported", recordOffset);
  }
  const thisDisk = u64(rec, 24, "ZIP64 entry count on this disk", recordOffset);
  const entryCount = u64(rec, 32, "ZIP64 entry count", recordOffset);
  if (thisDisk !== entryCount) {
    throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `ZIP64 end record disagrees with itself: ${thisDisk} entries on this disk, ${entryCount} in total`, recordOffset);
  }
  return { recordOffset, entryCount, cdSize: u64(rec, 40, "ZIP64 central directory size", recordOffset), cdOffset: u64(rec, 48, "ZIP64 central directory offset", recordOffset) };
}

/** A u64 that must be a safe JS integer: 2^63-style sizes are lies, not numbers to loop over. */
export function u64(b: Uint8Array, at: number, what: string, base: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `${what} is ${v}, beyond any real file size`, base + at);
  }
  return Number(v);
}

function parseCentralDirectory(cd: Buffer, base: number, count: number, cdOffset: number): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    const at = base + p;
    if (p + CDH_SIZE > cd.length) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `central directory ends inside entry ${i} of ${count}`, at);
    }
    if (cd.readUInt32LE(p) !== CDH_SIG) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `central directory entry ${i} of ${count} has no header signature`, at);
    }
    const flags = cd.readUInt16LE(p + 8);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const varEnd = p + CDH_SIZE + nameLen + extraLen + commentLen;
    if (varEnd > cd.length) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `central directory entry ${i} runs past the end of the directory`, at);
    }
    const nameBytes = cd.subarray(p + CDH_SIZE, p + CDH_SIZE + nameLen);
    const name = decodeName(nameBytes, flags);
    let uncompressedSize = cd.readUInt32LE(p + 24);
    let compressedSize = cd.readUInt32LE(p + 20);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const diskStart = cd.readUInt16LE(p + 34);
    const need64 = [uncompressedSize === 0xffffffff, compressedSize === 0xffffffff, localHeaderOffset === 0xffffffff, diskStart === 0xffff];
    if (need64.some(Boolean)) {
      const vals = readZip64Extra(cd.subarray(p + CDH_SIZE + nameLen, p + CDH_SIZE + nameLen + extraLen), need64, name, at);
      if (need64[0]) uncompressedSize = vals.shift()!;
      if (need64[1]) compressedSize = vals.shift()!;
      if (need64[2]) localHeaderOffset = vals.shift()!;
    } else if (diskStart !== 0) {
      throw new FormatError("ZIP_UNSUPPORTED", `entry ${JSON.stringify(name)} starts on disk ${diskStart}: spanned archives are not supported`, at);
    }
    if (localHeaderOffset >= cdOffset) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `entry ${JSON.stringify(name)} claims a local header at byte ${localHeaderOffset}, at or after the central directory (byte ${cdOffset})`, at, { entry: name });
    }
    if (compressedSize > cdOffset - localHeaderOffset) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `entry ${JSON.stringify(name)} claims ${compressedSize} compressed bytes, more than lie between its local header (byte ${localHeaderOffset}) and the central directory (byte ${cdOffset})`, at, { entry: name });
    }
    const entry: ZipEntry = { name, method: cd.readUInt16LE(p + 10), flags, crc32: cd.readUInt32LE(p + 16), compressedSize, uncompressedSize, localHeaderOffset };
    entryNameBytes.set(entry, nameBytes);
    entries.push(entry);
    p = varEnd;
  }
  return entries;
}

/** The ZIP64 extra field (id 1) holds, in order, only the fields whose 32-bit slot was 0xFFFFFFFF. */
function readZip64Extra(extra: Buffer, need: boolean[], name: string, at: number): number[] {
  let q = 0;
  while (q + 4 <= extra.length) {
    const id = extra.readUInt16LE(q);
    const len = extra.readUInt16LE(q + 2);
    if (q + 4 + len > extra.length) break;
    if (id === 1) {
      const out: number[] = [];
      let r = q + 4;
      for (let k = 0; k < 3; k++) {
        if (!need[k]) continue;
        if (r + 8 > q + 4 + len) break;
        out.push(u64(extra, r, `ZIP64 size/offset of ${JSON.stringify(name)}`, at));
        r += 8;
      }
      if (out.length === need.slice(0, 3).filter(Boolean).length) return out;
      break;
    }
    q += 4 + len;
  }
  throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `entry ${JSON.stringify(name)} needs ZIP64 sizes but has no complete ZIP64 extra field`, at, { entry: name });
}

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

/** Bit 11 means UTF-8; otherwise the spec says CP437, which agrees with ASCII (all torch writes). */
export function decodeName(bytes: Uint8Array, flags: number): string {
  return (flags & 0x800 ? utf8 : latin1).decode(bytes);
}
