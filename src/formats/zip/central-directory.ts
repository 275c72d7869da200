import { FormatError } from "../../core/errors.js";
import type { ByteSource } from "../../storage/types.js";
import { decodeName, ZipArchive, type ZipColumns } from "./archive.js";

export { ZipArchive, type ZipEntry } from "./archive.js";

/**
 * Reads a zip's central directory with a handful of positioned reads: the
 * tail (to find the end record), the ZIP64 records, then the directory itself.
 * Entry data is never touched here; see entry.ts.
 */

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
  const archive = new ZipArchive(file, parseCentralDirectory(cd, cdOffset, entryCount));
  if (end.comment.length > 0) archive.comment = decodeName(end.comment, 0, end.comment.length, 0);
  return archive;
}

interface EndRecord { eocdOffset: number; entryCount: number; cdSize: number; cdOffset: number; comment: Buffer }

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

/**
 * Fills one column per field, with plain byte arithmetic and no allocation per
 * record: a torch checkpoint of a mixture-of-experts model has hundreds of
 * thousands of them. Every count, size and offset is checked as it is read.
 */
function parseCentralDirectory(cd: Buffer, cdOffset: number, count: number): ZipColumns {
  // Names are copied out as they are read: the rest of the directory (most of its bytes) is not kept.
  const names = Buffer.allocUnsafe(Math.max(0, cd.length - count * CDH_SIZE));
  let q = 0;
  const c: ZipColumns = {
    count, nameBytes: names, directoryOffset: cdOffset,
    nameAt: new Uint32Array(count), nameLength: new Uint16Array(count), flags: new Uint16Array(count), method: new Uint16Array(count),
    crc32: new Uint32Array(count), compressedSize: new Float64Array(count), uncompressedSize: new Float64Array(count), localHeaderOffset: new Float64Array(count),
  };
  const end = cd.length;
  let p = 0;
  for (let i = 0; i < count; i++) {
    const at = cdOffset + p;
    if (p + CDH_SIZE > end) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `central directory ends inside entry ${i} of ${count}`, at);
    }
    if (u32(cd, p) !== CDH_SIG) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `central directory entry ${i} of ${count} has no header signature`, at);
    }
    const flags = u16(cd, p + 8);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const varEnd = p + CDH_SIZE + nameLen + extraLen + u16(cd, p + 32);
    if (varEnd > end) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `central directory entry ${i} runs past the end of the directory`, at);
    }
    const nameAt = p + CDH_SIZE;
    let compressedSize = u32(cd, p + 20);
    let uncompressedSize = u32(cd, p + 24);
    let localHeaderOffset = u32(cd, p + 42);
    const diskStart = u16(cd, p + 34);
    if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff || diskStart === 0xffff) {
      const extraAt = nameAt + nameLen;
      const name = (): string => decodeName(cd, nameAt, nameAt + nameLen, flags);
      const z = readZip64Extra(cd, extraAt, extraAt + extraLen, uncompressedSize === 0xffffffff, compressedSize === 0xffffffff, localHeaderOffset === 0xffffffff, name, at);
      uncompressedSize = z.uncompressedSize ?? uncompressedSize;
      compressedSize = z.compressedSize ?? compressedSize;
      localHeaderOffset = z.localHeaderOffset ?? localHeaderOffset;
    } else if (diskStart !== 0) {
      const name = decodeName(cd, nameAt, nameAt + nameLen, flags);
      throw new FormatError("ZIP_UNSUPPORTED", `entry ${JSON.stringify(name)} starts on disk ${diskStart}: spanned archives are not supported`, at);
    }
    if (localHeaderOffset >= cdOffset) {
      const name = decodeName(cd, nameAt, nameAt + nameLen, flags);
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `entry ${JSON.stringify(name)} claims a local header at byte ${localHeaderOffset}, at or after the central directory (byte ${cdOffset})`, at, { entry: name });
    }
    if (compressedSize > cdOffset - localHeaderOffset) {
      const name = decodeName(cd, nameAt, nameAt + nameLen, flags);
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `entry ${JSON.stringify(name)} claims ${compressedSize} compressed bytes, more than lie between its local header (byte ${localHeaderOffset}) and the central directory (byte ${cdOffset})`, at, { entry: name });
    }
    for (let k = 0; k < nameLen; k++) names[q + k] = cd[nameAt + k]!;
    c.nameAt[i] = q;
    q += nameLen;
    c.nameLength[i] = nameLen;
    c.flags[i] = flags;
    c.method[i] = u16(cd, p + 10);
    c.crc32[i] = u32(cd, p + 16);
    c.compressedSize[i] = compressedSize;
    c.uncompressedSize[i] = uncompressedSize;
    c.localHeaderOffset[i] = localHeaderOffset;
    p = varEnd;
  }
  // Extra fields and comments made the copy's room larger than the names: keep only the names.
  c.nameBytes = q < names.length / 2 ? Buffer.from(names.subarray(0, q)) : names.subarray(0, q);
  return c;
}

function u16(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8);
}

/** Unsigned: the top byte is multiplied in, so values above 2^31 stay positive. */
export function u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
}

/** The ZIP64 extra field (id 1) holds, in order, only the fields whose 32-bit slot was 0xFFFFFFFF. */
function readZip64Extra(
  cd: Buffer, from: number, to: number, needUncompressed: boolean, needCompressed: boolean, needOffset: boolean, name: () => string, at: number,
): { uncompressedSize?: number; compressedSize?: number; localHeaderOffset?: number } {
  let q = from;
  while (q + 4 <= to) {
    const id = u16(cd, q);
    const len = u16(cd, q + 2);
    if (q + 4 + len > to) break;
    if (id === 1) {
      const fieldEnd = q + 4 + len;
      let r = q + 4;
      const next = (): number | undefined => {
        if (r + 8 > fieldEnd) return undefined;
        const v = u64(cd, r, `ZIP64 size/offset of ${JSON.stringify(name())}`, at - from); // offsets as before: within the extra field
        r += 8;
        return v;
      };
      const out: { uncompressedSize?: number; compressedSize?: number; localHeaderOffset?: number } = {};
      if (needUncompressed && (out.uncompressedSize = next()) === undefined) break;
      if (needCompressed && (out.compressedSize = next()) === undefined) break;
      if (needOffset && (out.localHeaderOffset = next()) === undefined) break;
      return out;
    }
    q += 4 + len;
  }
  throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `entry ${JSON.stringify(name())} needs ZIP64 sizes but has no complete ZIP64 extra field`, at, { entry: name() });
}

