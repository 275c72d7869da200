import { FormatError } from "../../core/errors.js";
import { decodePickle } from "../pickle/decoder.js";
import type { DecodedPickle, PickleLimits, ReduceHook } from "../pickle/types.js";
import type { ByteSource } from "../../storage/types.js";
import { readZip, type ZipArchive, type ZipEntry } from "../zip/central-directory.js";
import { entryDataOffset, prefetchDataOffsets, readEntry } from "../zip/entry.js";
import { TorchRebuilder, type TorchProblem } from "./rebuild.js";
import type { StorageLocation } from "./storage-location.js";

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
  locations: Map<string, StorageLocation>;
  problems: TorchProblem[];
}

export async function readZipLayout(
  file: ByteSource,
  options: { pickleLimits?: Partial<PickleLimits>; reduce?: ReduceHook; storageHeaders?: "all" | "on-read" },
): Promise<ZipLayoutResult> {
  const zip = await readZip(file);
  const problems: TorchProblem[] = [];
  const first = zip.entries[0];
  if (!first) throw new FormatError("TORCH_NO_DATA_PKL", "the zip archive is empty: no data.pkl");
  const slash = first.name.indexOf("/");
  // torch refuses a first entry without a folder; we still read such an archive so its pickle gets checked.
  const prefix = slash < 0 ? "" : first.name.slice(0, slash);
  const p = (rec: string) => (prefix ? `${prefix}/${rec}` : rec);
  if (slash < 0) problems.push({ code: "TORCH_BAD_LAYOUT", message: `the first zip entry ${JSON.stringify(first.name)} is not inside a folder: torch.load would refuse this archive` });
  const outside = zip.entries.filter((e) => !e.name.startsWith(prefix ? `${prefix}/` : ""));
  if (prefix && outside.length > 0) {
    problems.push({ code: "TORCH_BAD_LAYOUT", message: `${outside.length} zip entries lie outside the ${JSON.stringify(prefix)} folder (first: ${JSON.stringify(outside[0]!.name)}); recent torch refuses such archives` });
  }
  const pklEntry = zip.byName.get(p("data.pkl"));
  if (!pklEntry) throw new FormatError("TORCH_NO_DATA_PKL", `the zip has no ${JSON.stringify(p("data.pkl"))} (folder taken from the first entry, ${JSON.stringify(first.name)})`);

  const byteOrder = await readByteOrder(zip, zip.byName.get(p("byteorder")));
  const formatVersion = await readVersion(zip, zip.byName.get(p(".data/version")) ?? zip.byName.get(p("version")), problems);

  const bytes = await readEntry(zip, pklEntry, MAX_DATA_PKL);
  const rebuilder = new TorchRebuilder(p("data.pkl"));
  const user = options.reduce;
  const reduce: ReduceHook = (c, a, o) => rebuilder.reduce(c, a, o) ?? user?.(c, a, o);
  const pickle = decodePickle(bytes, 0, { limits: options.pickleLimits, persistentLoad: rebuilder.persistentLoad, reduce });
  problems.push(...rebuilder.problems);
  if (pickle.end < bytes.length) {
    problems.push({ code: "TORCH_TRAILING_BYTES", message: `${bytes.length - pickle.end} bytes follow the STOP of ${p("data.pkl")} (at byte ${pickle.end}); torch ignores them`, offset: pickle.end });
  }
  const locations = await locateStorages(zip, p, rebuilder, problems, options.storageHeaders !== "on-read");
  const pickleOffset = pklEntry.method === 0 ? await entryDataOffset(zip, pklEntry) : undefined;
  return { zip, prefix, byteOrder, formatVersion, isTorchScript: zip.byName.has(p("constants.pkl")), pickle, pickleName: pklEntry.name, pickleOffset, rebuilder, locations, problems };
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
async function locateStorages(zip: ZipArchive, p: (rec: string) => string, rb: TorchRebuilder, problems: TorchProblem[], headers: boolean): Promise<Map<string, StorageLocation>> {
  const locations = new Map<string, StorageLocation>();
  const refs = [...rb.storages.values()];
  if (headers) await prefetchDataOffsets(zip, refs.flatMap((r) => zip.byName.get(p(`data/${r.key}`)) ?? []));
  // A plain loop: after the prefetch, every offset is known unless its local header is bad.
  for (const ref of refs) {
    const name = p(`data/${ref.key}`);
    const e = zip.byName.get(name);
    if (!e) {
      problems.push({ code: "TORCH_STORAGE_MISSING", message: `the pickle references storage ${ref.key} but the archive has no ${JSON.stringify(name)}`, key: ref.key });
      continue;
    }
    if (e.uncompressedSize !== ref.nbytes) {
      problems.push({ code: "TORCH_STORAGE_SIZE_MISMATCH", message: `${JSON.stringify(name)} holds ${e.uncompressedSize} bytes but the pickle describes ${ref.numel} x ${ref.dtype} = ${ref.nbytes} bytes`, key: ref.key });
    }
    if (!headers) continue;
    try {
      locations.set(ref.key, await zipStorageLocation(zip, e, ref.key));
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      problems.push({ code: err.code, message: err.message, key: ref.key, offset: err.offset });
    }
  }
  return locations;
}

/** Where a storage record's bytes are: its local header is read (once) and checked against the central directory. */
export async function zipStorageLocation(zip: ZipArchive, e: ZipEntry, key: string): Promise<StorageLocation> {
  const offset = await entryDataOffset(zip, e); // from its cache when the prefetch read the header
  return { key, offset, length: e.method === 0 ? e.uncompressedSize : e.compressedSize, compressed: e.method !== 0 };
}
