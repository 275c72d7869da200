import { FormatError } from "../../core/errors.js";
import { RandomAccessFile } from "../../storage/local-file.js";
import type { ByteSource } from "../../storage/types.js";
import type { DecodedPickle, PickleLimits, ReduceHook } from "../pickle/types.js";
import type { PyValue, Tensor } from "../pickle/values.js";
import type { ZipArchive, ZipEntry } from "../zip/central-directory.js";
import { readEntry } from "../zip/entry.js";
import { recordStartIn, SMALL_RECORD, SMALL_RECORD_READ, smallRecordLength, smallRecordRange, smallRecordStart } from "../zip/local-header.js";
import { readRanges } from "../../storage/ranges.js";
import { isZipSignature } from "../zip/central-directory.js";
import { decodeElements, itemSizeOf, type ElementValue } from "./dtypes.js";
import { readLegacy, sysInfoLittleEndian } from "./legacy.js";
import type { TorchProblem } from "./rebuild.js";
import { isTarHeader, readTorchTar } from "./tar.js";
import { readZipLayout, storageRecord, zipStorageLocation } from "./zip-layout.js";
import type { StorageTable } from "./storage-table.js";

export { sniffFileKind, type FileKind } from "./sniff.js";
export type { TorchProblem } from "./rebuild.js";
export type { StorageLocation } from "./storage-location.js";
import type { StorageLocation, StorageLocations } from "./storage-location.js";

export interface TorchFile {
  path: string;
  size: number;
  format: "zip" | "legacy";
  /** legacy: "tar" for the pre-0.1.10 tar layout (members sys_info, pickle, tensors, storages). */
  container?: "tar";
  /** zip: the folder of the first central-directory entry ("" when it has none). */
  archivePrefix?: string;
  /** zip: the byteorder record (absent = little). legacy: always little (torch swaps storage bytes to little-endian). */
  byteOrder: "little" | "big";
  /** legacy: sys_info's little_endian flag, i.e. the writer's host order. */
  writerLittleEndian?: boolean;
  formatVersion?: string;
  isTorchScript: boolean;
  pickle: DecodedPickle;
  /** Where the pickle's offsets point: "model/data.pkl" (zip), "main pickle" (legacy, whose offsets are file offsets) or `tar member "pickle"`. */
  pickleName: string;
  /** Absolute file offset of the pickle's byte 0 when it is stored uncompressed (legacy: 0; tar: the member's data); undefined when deflated. */
  pickleOffset?: number;
  value: PyValue;
  storages: StorageTable;
  /** Storage records located so far: all of them unless opened with storageHeaders "on-read". */
  locations: StorageLocations;
  /** Inconsistencies that leave the metadata readable: size mismatches, missing or truncated storages, out-of-bounds views. */
  problems: TorchProblem[];
  zip?: ZipArchive;
  /** The open file: `file.bytesRead` shows how little was read. */
  file: ByteSource;
  readValues(t: Tensor, max?: number): Promise<ElementValue[]>;
  /**
   * The first element of each tensor (undefined where it cannot be read), in one batched read of
   * the small records that hold them: an optimizer's `step` of every parameter.
   */
  readFirstValues(ts: readonly Tensor[], options?: FirstValuesOptions): Promise<(ElementValue | undefined)[]>;
  close(): Promise<void>;
}

export interface FirstValuesOptions {
  /**
   * --deep, which reads every byte anyway: small records lying within READ_ACROSS bytes of one
   * another are read in one read, the bytes between them included. Default mode reads each record
   * alone, never another tensor's bytes.
   */
  across?: boolean;
}

export interface OpenTorchOptions {
  pickleLimits?: Partial<PickleLimits>;
  /** Consulted for calls the torch rebuild hook leaves alone. */
  reduce?: ReduceHook;
  /** An already open handle on `path` (its parsed zip directory is reused); closed with the TorchFile, left open when opening fails. */
  file?: ByteSource;
  /**
   * Zip only. "all" (the default) reads every storage record's local header when the file is
   * opened, so `locations` is complete. "on-read" leaves each until that storage is read: default
   * mode reads a few small storages of hundreds, and on a network file system each read is a round trip.
   */
  storageHeaders?: "all" | "on-read";
  /** Zip only: read torch's tensor-rebuild opcodes in one step (fast-tensor.ts); false runs them one by one (tests compare both). */
  tensorSequence?: boolean;
}

/** readValues default: enough to show a tensor, never a whole large one. */
export const DEFAULT_READ_VALUES = 1024;
/** A strided read gathers from one span up to this size; beyond it, element by element. */
const MAX_SPAN = 4 * 1024 * 1024;

export async function openTorchFile(path: string, options: OpenTorchOptions = {}): Promise<TorchFile> {
  const file = options.file ?? (await RandomAccessFile.open(path));
  try {
    const head = await file.read(0, Math.min(4, file.size), "file head");
    const base = { path, size: file.size, file, close: () => file.close() };
    if (isZipSignature(head)) {
      const r = await readZipLayout(file, options);
      const tf: TorchFile = {
        ...base, format: "zip", archivePrefix: r.prefix, byteOrder: r.byteOrder, formatVersion: r.formatVersion,
        isTorchScript: r.isTorchScript, pickle: r.pickle, pickleName: r.pickleName, pickleOffset: r.pickleOffset, value: r.pickle.value, storages: r.rebuilder.storages,
        locations: r.locations, problems: r.problems, zip: r.zip,
        readValues: (t, max) => readValues(file, tf, t, max),
        readFirstValues: (ts, o) => readFirstValues(file, tf, ts, o),
      };
      return tf;
    }
    if (file.size === 0) throw new FormatError("TORCH_BAD_MAGIC", `${path} is empty`);
    // A legacy file starts with a pickle (0x80 PROTO in protocol 2+); only anything else is worth a look for a tar header.
    if (head[0] !== 0x80 && file.size >= 262 && isTarHeader(await file.read(0, Math.min(512, file.size), "tar header"))) {
      const r = await readTorchTar(file, options);
      const tf: TorchFile = {
        ...base, format: "legacy", container: "tar", byteOrder: "little", writerLittleEndian: sysInfoLittleEndian(r.sysInfo),
        isTorchScript: false, pickle: r.pickle, pickleName: `tar member "pickle"`, pickleOffset: r.pickleOffset, value: r.pickle.value, storages: r.rebuilder.storages,
        locations: r.locations, problems: r.problems,
        readValues: (t, max) => readValues(file, tf, t, max),
        readFirstValues: (ts, o) => readFirstValues(file, tf, ts, o),
      };
      return tf;
    }
    const r = await readLegacy(file, options);
    const tf: TorchFile = {
      ...base, format: "legacy", byteOrder: "little", writerLittleEndian: sysInfoLittleEndian(r.sysInfo),
      isTorchScript: false, pickle: r.pickle, pickleName: "main pickle", pickleOffset: 0, value: r.pickle.value, storages: r.rebuilder.storages,
      locations: r.locations, problems: r.problems,
      readValues: (t, max) => readValues(file, tf, t, max),
      readFirstValues: (ts, o) => readFirstValues(file, tf, ts, o),
    };
    return tf;
  } catch (e) {
    if (!options.file) await file.close();
    throw e;
  }
}

export async function withTorchFile<T>(path: string, fn: (f: TorchFile) => Promise<T>, options?: OpenTorchOptions): Promise<T> {
  const f = await openTorchFile(path, options);
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

/** Storage-element indices of the first `n` elements in row-major order (an odometer, no recursion). */
function elementIndices(t: Tensor, n: number): number[] {
  const idx = new Array<number>(t.shape.length).fill(0);
  const out: number[] = [];
  let pos = t.storageOffset;
  for (let i = 0; i < n; i++) {
    out.push(pos);
    for (let d = t.shape.length - 1; d >= 0; d--) {
      idx[d]!++;
      pos += t.stride[d]!;
      if (idx[d]! < t.shape[d]!) break;
      pos -= idx[d]! * t.stride[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/** Inflated bytes of the last compressed storage read per file, so reading several tensors of one storage inflates once. */
const inflated = new WeakMap<TorchFile, { key: string; bytes: Uint8Array }>();

async function readValues(file: ByteSource, tf: TorchFile, t: Tensor, max = DEFAULT_READ_VALUES): Promise<ElementValue[]> {
  const numel = t.numel;
  const n = Math.max(0, Math.min(max, numel));
  if (n === 0) return [];
  const key = t.storage.key;
  const loc = tf.locations.get(key) ?? (await locateOnRead(tf, key));
  if (!loc) throw new FormatError("TORCH_STORAGE_MISSING", `storage ${key} has no bytes in the file`, undefined, { key });
  const size = itemSizeOf(t.dtype);
  if (size === undefined) throw new FormatError("TORCH_UNKNOWN_DTYPE", `cannot read elements of dtype ${t.dtype}`, undefined, { key });
  const indices = elementIndices(t, n);
  let lo = Infinity;
  let hi = -Infinity;
  for (const i of indices) {
    lo = Math.min(lo, i);
    hi = Math.max(hi, i);
  }
  const present = loc.compressed ? inflatedLength(tf, loc) : loc.length;
  if ((hi + 1) * size > present) {
    throw new FormatError("TORCH_TENSOR_OUT_OF_BOUNDS", `element ${hi} of storage ${key} (${t.dtype}) lies past its ${present} bytes`, loc.offset, { key });
  }
  const gather = (span: Uint8Array, spanStart: number): Uint8Array => {
    const contiguous = indices.every((v, i) => v === lo + i);
    if (contiguous && spanStart === lo) return span.subarray(0, n * size);
    const out = new Uint8Array(n * size);
    indices.forEach((v, i) => out.set(span.subarray((v - spanStart) * size, (v - spanStart + 1) * size), i * size));
    return out;
  };
  let bytes: Uint8Array;
  if (loc.compressed) {
    bytes = gather(await inflate(tf, loc), 0);
  } else if ((hi - lo + 1) * size <= MAX_SPAN) {
    bytes = gather(await file.read(loc.offset + lo * size, (hi - lo + 1) * size, `storage ${key}`), lo);
  } else {
    bytes = new Uint8Array(n * size);
    for (let i = 0; i < n; i++) bytes.set(await file.read(loc.offset + indices[i]! * size, size, `storage ${key}`), i * size);
  }
  return decodeElements(bytes, t.dtype, n, tf.byteOrder);
}

/**
 * Small stored zip records are read with their local headers (one read each, the header checked
 * first): from a local file into one reused buffer, nothing allocated per record; from a remote
 * object in one readRanges call, which merges them into few requests. Anything else goes through
 * readValues one by one, as does a record whose read failed (so each failure stays with its tensor).
 */
async function readFirstValues(file: ByteSource, tf: TorchFile, ts: readonly Tensor[], options?: FirstValuesOptions): Promise<(ElementValue | undefined)[]> {
  const out: (ElementValue | undefined)[] = new Array(ts.length).fill(undefined);
  const zip = tf.zip;
  const small: number[] = [];
  const records: number[] = [];
  const dataPrefix = tf.archivePrefix ? `${tf.archivePrefix}/data/` : "data/";
  for (let k = 0; k < ts.length; k++) {
    const i = zip && ts[k]!.numel > 0 ? storageRecord(zip, dataPrefix, ts[k]!.storage.key) : -1;
    if (zip && i >= 0 && zip.method[i] === 0 && zip.compressedSize[i]! <= SMALL_RECORD && zip.compressedSize[i] === zip.uncompressedSize[i]) {
      small.push(k);
      records.push(i);
    } else {
      out[k] = await readValues(file, tf, ts[k]!, 1).then((v) => v[0], () => undefined);
    }
  }
  if (!zip || small.length === 0) return out;
  const slow = async (m: number) => (await readValues(file, tf, ts[small[m]!]!, 1).catch(() => []))[0];
  if (file.readInto) return readInPlace(file, tf, zip, ts, small, records, out, slow, options?.across === true);
  const ranges = records.map((i) => (zip.dataOffset[i]! >= 0 ? { offset: zip.dataOffset[i]!, length: zip.compressedSize[i]! } : smallRecordRange(zip, i)));
  let got: Buffer[] | undefined;
  try {
    got = await readRanges(file, ranges, "small storage records");
  } catch {
    got = undefined; // one by one below
  }
  for (let m = 0; m < small.length; m++) {
    const t = ts[small[m]!]!;
    const i = records[m]!;
    try {
      // A range that started at the data holds only the data; one that started at the local header, the header first.
      const start = !got ? -1 : ranges[m]!.offset === zip.dataOffset[i] ? 0 : smallRecordStart(zip, i, got[m]!);
      out[small[m]!] = start >= 0 ? firstElement(got![m]!, start, zip.compressedSize[i]!, t, tf.byteOrder) : await slow(m);
    } catch {
      out[small[m]!] = undefined;
    }
  }
  return out;
}

/** How far apart --deep's step-value reads may start: one read covers every small record within it. */
const READ_ACROSS = 1024 * 1024;

/**
 * readFirstValues from a local file: the records in header order, read into one reused buffer and
 * each header checked there, nothing allocated per record. Default mode reads each record alone;
 * with `across` (--deep), every record within READ_ACROSS bytes of the first of a run is read at
 * once, the bytes between them included (tens of thousands of `step` records, a few kilobytes
 * apart, in a few hundred reads).
 */
async function readInPlace(
  file: ByteSource, tf: TorchFile, zip: ZipArchive, ts: readonly Tensor[], small: number[], records: number[],
  out: (ElementValue | undefined)[], slow: (m: number) => Promise<ElementValue | undefined>, across: boolean,
): Promise<(ElementValue | undefined)[]> {
  const n = small.length;
  const from = new Float64Array(n);
  const to = new Float64Array(n);
  for (let m = 0; m < n; m++) {
    const i = records[m]!;
    // A record whose local header was read already needs only its bytes.
    const fromData = zip.dataOffset[i]! >= 0;
    from[m] = fromData ? zip.dataOffset[i]! : zip.localHeaderOffset[i]!;
    to[m] = from[m]! + (fromData ? zip.compressedSize[i]! : smallRecordLength(zip, i));
  }
  const order = Array.from({ length: n }, (_, m) => m);
  let sorted = true;
  for (let m = 1; m < n && sorted; m++) sorted = from[m - 1]! <= from[m]!;
  if (!sorted) order.sort((a, b) => from[a]! - from[b]!);
  const buf = Buffer.allocUnsafe(across ? READ_ACROSS + SMALL_RECORD_READ : SMALL_RECORD_READ);
  for (let k = 0; k < n; ) {
    const first = from[order[k]!]!;
    let end = to[order[k]!]!;
    let j = k + 1;
    while (across && j < n && to[order[j]!]! - first <= buf.length) end = Math.max(end, to[order[j++]!]!);
    let read = true;
    try {
      file.readInto!(buf, 0, first, end - first, "small storage records");
    } catch {
      read = false;
    }
    for (let q = k; q < j; q++) {
      const m = order[q]!;
      const i = records[m]!;
      let start = -1;
      let value: ElementValue | undefined;
      if (read) {
        try {
          const base = from[m]! - first;
          start = zip.dataOffset[i]! === from[m] ? base : recordStartIn(zip, i, buf, base, to[m]! - first);
          if (start >= 0) value = firstElement(buf, start, zip.compressedSize[i]!, ts[small[m]!]!, tf.byteOrder);
        } catch {
          start = -1;
        }
      }
      out[small[m]!] = start >= 0 ? value : await slow(m);
    }
    k = j;
  }
  return out;
}

/** Element 0 of `t` in row-major order is storage element `storageOffset`, in the record's `length` bytes at `start` of `bytes`. */
function firstElement(bytes: Buffer, start: number, length: number, t: Tensor, byteOrder: "little" | "big"): ElementValue | undefined {
  const size = itemSizeOf(t.dtype);
  if (size === undefined || (t.storageOffset + 1) * size > length) return undefined;
  const at = start + t.storageOffset * size;
  // An optimizer's step is a float32: read it directly, without a view and an array per value.
  if (t.dtype === "float32" && byteOrder === "little") return bytes.readFloatLE(at);
  return decodeElements(bytes.subarray(at, at + size), t.dtype, 1, byteOrder)[0];
}

/** A zip storage not located when the file was opened (storageHeaders "on-read"). */
async function locateOnRead(tf: TorchFile, key: string): Promise<StorageLocation | undefined> {
  const e = storageEntry(tf, key);
  if (!tf.zip || !e) return undefined;
  const loc = await zipStorageLocation(tf.zip, e, key);
  tf.locations.set(key, loc);
  return loc;
}

function storageEntry(tf: TorchFile, key: string): ZipEntry | undefined {
  if (!tf.zip) return undefined;
  const i = storageRecord(tf.zip, tf.archivePrefix ? `${tf.archivePrefix}/data/` : "data/", key);
  return i < 0 ? undefined : tf.zip.entry(i);
}

async function inflate(tf: TorchFile, loc: StorageLocation): Promise<Uint8Array> {
  const cached = inflated.get(tf);
  if (cached && cached.key === loc.key) return cached.bytes;
  const e = storageEntry(tf, loc.key);
  if (!tf.zip || !e) throw new FormatError("TORCH_STORAGE_MISSING", `compressed storage ${loc.key} has no zip entry`, undefined, { key: loc.key });
  const bytes = await readEntry(tf.zip, e);
  inflated.set(tf, { key: loc.key, bytes });
  return bytes;
}

function inflatedLength(tf: TorchFile, loc: StorageLocation): number {
  return storageEntry(tf, loc.key)?.uncompressedSize ?? 0;
}
