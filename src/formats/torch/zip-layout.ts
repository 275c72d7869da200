import { FormatError } from "../../core/errors.js";
import { decodePickle } from "../pickle/decoder.js";
import type { DecodedPickle, PickleLimits, ReduceHook } from "../pickle/types.js";
import type { ByteSource } from "../../storage/types.js";
import { readZip, type ZipArchive, type ZipEntry } from "../zip/central-directory.js";
import { entryDataOffset, readEntry } from "../zip/entry.js";
import { dataOffsetAt, prefetchDataOffsets } from "../zip/local-header.js";
import { TensorSequence } from "./fast-tensor.js";
import { TorchRebuilder, type TorchProblem } from "./rebuild.js";
import type { StorageLocation, StorageLocations } from "./storage-location.js";
import { decimalIndex, type StorageTable } from "./storage-table.js";

/**
 * torch.save's zip layout: `<prefix>/data.pkl`, `<prefix>/data/<key>`,
 * `<prefix>/version` (or `.data/version`), `<prefix>/byteorder`. The prefix is
 * taken from the first central-directory entry, as torch's reader does.
 */

export const MAX_DATA_PKL = 2 * 1024 * 1024 * 1024;

export interface ZipLayoutResult {
  zip: ZipArchive;
  prefix: string;
  byteOrder: "little" | "big";
  formatVersion?: string;
  isTorchScript: boolean;
  pickle: DecodedPickle;
  pickleName: string;
  pickleOffset?: number;
  rebuilder: TorchRebuilder;
  locations: StorageLocations;
  problems: TorchProblem[];
}

export async function readZipLayout(
  file: ByteSource,
  options: { pickleLimits?: Partial<PickleLimits>; reduce?: ReduceHook; storageHeaders?: "all" | "on-read"; tensorSequence?: boolean },
): Promise<ZipLayoutResult> {
  const zip = await readZip(file);
  const problems: TorchProblem[] = [];
  if (zip.count === 0) throw new FormatError("TORCH_NO_DATA_PKL", "the zip archive is empty: no data.pkl");
  const first = zip.entry(0);
  const slash = first.name.indexOf("/");
  // torch refuses a first entry without a folder; we still read such an archive so its pickle gets checked.
  const prefix = slash < 0 ? "" : first.name.slice(0, slash);
  const p = (rec: string) => (prefix ? `${prefix}/${rec}` : rec);
  if (slash < 0) problems.push({ code: "TORCH_BAD_LAYOUT", message: `the first zip entry ${JSON.stringify(first.name)} is not inside a folder: torch.load would refuse this archive` });
  const outside = entriesOutside(zip, prefix ? `${prefix}/` : "", p("data/"));
  if (outside.count > 0) {
    problems.push({ code: "TORCH_BAD_LAYOUT", message: `${outside.count} zip entries lie outside the ${JSON.stringify(prefix)} folder (first: ${JSON.stringify(zip.nameOf(outside.first))}); recent torch refuses such archives` });
  }
  const pklEntry = zip.find(p("data.pkl"));
  if (!pklEntry) throw new FormatError("TORCH_NO_DATA_PKL", `the zip has no ${JSON.stringify(p("data.pkl"))} (folder taken from the first entry, ${JSON.stringify(first.name)})`);

  const byteOrder = await readByteOrder(zip, zip.find(p("byteorder")));
  const formatVersion = await readVersion(zip, zip.find(p(".data/version")) ?? zip.find(p("version")), problems);

  const bytes = await readEntry(zip, pklEntry, MAX_DATA_PKL);
  const rebuilder = new TorchRebuilder(p("data.pkl"));
  const sequence = new TensorSequence(rebuilder, options.tensorSequence !== false);
  const pickle = decodePickle(bytes, 0, { limits: options.pickleLimits, persistentLoad: rebuilder.persistentLoad, rebuild: rebuilder.reduce, reduce: options.reduce, sequence });
  problems.push(...rebuilder.problems);
  if (pickle.end < bytes.length) {
    problems.push({ code: "TORCH_TRAILING_BYTES", message: `${bytes.length - pickle.end} bytes follow the STOP of ${p("data.pkl")} (at byte ${pickle.end}); torch ignores them`, offset: pickle.end });
  }
  const locations = await locateStorages(zip, p, rebuilder, problems, options.storageHeaders !== "on-read");
  const pickleOffset = pklEntry.method === 0 ? await entryDataOffset(zip, pklEntry) : undefined;
  return { zip, prefix, byteOrder, formatVersion, isTorchScript: zip.has(p("constants.pkl")), pickle, pickleName: pklEntry.name, pickleOffset, rebuilder, locations, problems };
}

async function readSmall(zip: ZipArchive, e: ZipEntry): Promise<string> {
  return new TextDecoder("utf-8").decode(await readEntry(zip, e, 4096));
}

async function readByteOrder(zip: ZipArchive, e: ZipEntry | undefined): Promise<"little" | "big"> {
  if (!e) return "little"; // absent before torch 2.1: little-endian by definition
  const text = await readSmall(zip, e).catch((err: unknown) => {
    throw new FormatError("TORCH_BAD_BYTEORDER", `the byteorder record ${JSON.stringify(e.name)} cannot be read: ${(err as Error).message}`);
  });
  if (text === "little" || text === "big") return text;
  throw new FormatError("TORCH_BAD_BYTEORDER", `the byteorder record ${JSON.stringify(e.name)} says ${JSON.stringify(text.slice(0, 40))}; torch accepts only "little" or "big"`);
}

async function readVersion(zip: ZipArchive, e: ZipEntry | undefined, problems: TorchProblem[]): Promise<string | undefined> {
  if (!e) {
    problems.push({ code: "TORCH_NO_VERSION", message: "the archive has no version record: torch.save always writes one" });
    return undefined;
  }
  try {
    return (await readSmall(zip, e)).trim();
  } catch (err) {
    problems.push({ code: "TORCH_BAD_VERSION", message: `the version record ${JSON.stringify(e.name)} cannot be read: ${(err as Error).message}` });
    return undefined;
  }
}

/**
 * Every referenced storage must have its record, of exactly numel x itemsize bytes (torch's getRecord
 * check): the central directory says so. With `headers`, every record's local header is read too,
 * for its data offset; without, that waits until a record is read (zipStorageLocation).
 */
async function locateStorages(zip: ZipArchive, p: (rec: string) => string, rb: TorchRebuilder, problems: TorchProblem[], headers: boolean): Promise<StorageLocations> {
  const dataPrefix = p("data/");
  // One hash lookup per storage on the record columns: no name string, no entry object (a
  // mixture-of-experts optimizer state has hundreds of thousands of storages).
  const found: { key: string; record: number }[] = [];
  const refs = rb.storages.refs();
  for (let r = 0; r < refs.length; r++) {
    const ref = refs[r]!;
    const i = storageRecord(zip, dataPrefix, ref.key);
    if (i < 0) {
      problems.push({ code: "TORCH_STORAGE_MISSING", message: `the pickle references storage ${ref.key} but the archive has no ${JSON.stringify(dataPrefix + ref.key)}`, key: ref.key });
      continue;
    }
    if (zip.uncompressedSize[i] !== ref.nbytes) {
      problems.push({ code: "TORCH_STORAGE_SIZE_MISMATCH", message: `${JSON.stringify(dataPrefix + ref.key)} holds ${zip.uncompressedSize[i]} bytes but the pickle describes ${ref.numel} x ${ref.dtype} = ${ref.nbytes} bytes`, key: ref.key });
    }
    if (headers) found.push({ key: ref.key, record: i });
  }
  if (headers) {
    await prefetchDataOffsets(zip, found.map((f) => f.record));
    // After the prefetch every offset is known unless its local header is bad: read that one again for the precise error.
    for (const f of found) {
      if (zip.dataOffset[f.record]! >= 0) continue;
      try {
        await dataOffsetAt(zip, f.record);
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        problems.push({ code: err.code, message: err.message, key: f.key, offset: err.offset });
      }
    }
  }
  return new ZipLocations(zip, dataPrefix, rb.storages);
}

/** Where a storage record's bytes are: its local header is read (once) and checked against the central directory. */
export async function zipStorageLocation(zip: ZipArchive, e: ZipEntry, key: string): Promise<StorageLocation> {
  const offset = await entryDataOffset(zip, e);
  return { key, offset, length: e.method === 0 ? e.uncompressedSize : e.compressedSize, compressed: e.method !== 0 };
}

/**
 * The located storages of a zip, read off the record columns: a storage is located once its record's
 * local header was read and checked. Nothing per storage is kept beyond the columns.
 */
class ZipLocations implements StorageLocations {
  constructor(
    private readonly zip: ZipArchive,
    private readonly dataPrefix: string,
    private readonly storages: StorageTable,
  ) {}

  get(key: string): StorageLocation | undefined {
    if (!this.storages.has(key)) return undefined;
    const i = storageRecord(this.zip, this.dataPrefix, key);
    if (i < 0 || this.zip.dataOffset[i]! < 0) return undefined;
    const stored = this.zip.method[i] === 0;
    return { key, offset: this.zip.dataOffset[i]!, length: stored ? this.zip.uncompressedSize[i]! : this.zip.compressedSize[i]!, compressed: !stored };
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Locating a record keeps its offset in the columns already. */
  set(): this {
    return this;
  }

  get size(): number {
    let n = 0;
    for (const key of this.storages.keys()) if (this.has(key)) n++;
    return n;
  }

  *entries(): IterableIterator<[string, StorageLocation]> {
    for (const key of this.storages.keys()) {
      const loc = this.get(key);
      if (loc) yield [key, loc];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<StorageLocation> {
    for (const [, loc] of this.entries()) yield loc;
  }

  [Symbol.iterator](): IterableIterator<[string, StorageLocation]> {
    return this.entries();
  }

  forEach(fn: (value: StorageLocation, key: string, map: ReadonlyMap<string, StorageLocation>) => void): void {
    for (const [key, loc] of this.entries()) fn(loc, key, this);
  }
}

/**
 * How many entries' names do not start with `folder`, and the first of them (-1: none); in the same
 * pass over the names (hundreds of thousands in a mixture-of-experts state), the index of
 * `dataPrefix` + number records that storageRecord reads.
 */
function entriesOutside(zip: ZipArchive, folder: string, dataPrefix: string): { count: number; first: number } {
  let count = 0;
  let first = -1;
  const ascii = !/[^\x00-\x7f]/.test(folder + dataPrefix) && dataPrefix.startsWith(folder);
  if (!ascii) {
    for (let i = 0; i < zip.count; i++) {
      if (folder === "" || zip.nameOf(i).startsWith(folder)) continue;
      if (count++ === 0) first = i;
    }
    return { count, first };
  }
  // One loop over the name bytes, the prefixes compared as bytes (hundreds of thousands of names).
  const records = new Int32Array(zip.count * 2 + 1);
  const d = zip.nameBytes;
  const nameAt = zip.nameAt;
  const nameLength = zip.nameLength;
  const prefix = Buffer.from(dataPrefix, "latin1");
  const folderLength = folder.length;
  for (let i = 0; i < zip.count; i++) {
    const at = nameAt[i]!;
    const length = nameLength[i]!;
    let k = 0;
    if (length >= folderLength) while (k < folderLength && d[at + k] === prefix[k]) k++;
    if (k < folderLength) {
      if (count++ === 0) first = i;
      continue;
    }
    numberAt(d, at, length, prefix, k, i, records);
  }
  numbered.set(zip, { prefix: dataPrefix, records });
  return { count, first };
}

/**
 * The record of storage `key` (named `dataPrefix + key`), or -1. torch names its storage records
 * `data/0`, `data/1`, ...: one sequential pass over the central directory indexes those by number
 * (hundreds of thousands of hash lookups into a large table were slower than the pass); any other
 * key is looked up by name.
 */
export function storageRecord(zip: ZipArchive, dataPrefix: string, key: string): number {
  let index = numbered.get(zip);
  if (index?.prefix !== dataPrefix) {
    const records = new Int32Array(zip.count * 2 + 1);
    if (!/[^\x00-\x7f]/.test(dataPrefix)) {
      const prefix = Buffer.from(dataPrefix, "latin1");
      for (let i = 0; i < zip.count; i++) numberAt(zip.nameBytes, zip.nameAt[i]!, zip.nameLength[i]!, prefix, 0, i, records);
    }
    index = { prefix: dataPrefix, records };
    numbered.set(zip, index);
  }
  const k = decimalIndex(key);
  if (k >= 0 && k < index.records.length) {
    const i = index.records[k]! - 1;
    if (i >= 0) return i;
  }
  return zip.indexOf(dataPrefix, key);
}

const numbered = new WeakMap<ZipArchive, { prefix: string; records: Int32Array }>();

/**
 * records[v] = 1 + i when record i (its name at `at` of `d`, `length` bytes, the first `k` already
 * known to match `prefix`) is named `prefix + v`, v a canonical decimal below records.length; prefix ASCII.
 */
function numberAt(d: Uint8Array, at: number, length: number, prefix: Uint8Array, k: number, i: number, records: Int32Array): void {
  const p = prefix.length;
  if (length <= p) return;
  while (k < p && d[at + k] === prefix[k]) k++;
  if (k < p) return;
  const from = at + p;
  const to = at + length;
  if (to - from > 9 || (to - from > 1 && d[from] === 0x30)) return;
  let v = 0;
  for (let q = from; q < to; q++) {
    const c = d[q]! - 0x30;
    if (c < 0 || c > 9) return;
    v = v * 10 + c;
  }
  if (v < records.length && records[v] === 0) records[v] = i + 1;
}
