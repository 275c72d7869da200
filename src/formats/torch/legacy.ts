import { FormatError } from "../../core/errors.js";
import type { ByteSource } from "../../storage/types.js";
import { decodePickle } from "../pickle/decoder.js";
import { PickleError } from "../pickle/pickle-error.js";
import type { DecodedPickle, PickleLimits, ReduceHook } from "../pickle/types.js";
import { PyDict, seqItems, type PyValue } from "../pickle/values.js";
import { TorchRebuilder, type TorchProblem } from "./rebuild.js";
import type { StorageLocation } from "./storage-location.js";

/**
 * The legacy (pre-1.6 default) layout: five pickles back to back, then for
 * each storage key an int64 LE element count and the raw elements. Only the
 * pickles and the 8-byte counts are read; storage bytes are skipped.
 */

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;
/** First read of the pickle region; grown 4x while a pickle runs past it (each retry re-decodes). */
const FIRST_WINDOW = 8 * 1024;
export const MAX_PICKLE_BYTES = 2 * 1024 * 1024 * 1024;

export interface LegacyResult {
  pickle: DecodedPickle;
  rebuilder: TorchRebuilder;
  locations: Map<string, StorageLocation>;
  problems: TorchProblem[];
  sysInfo: PyValue;
}

/** True when a pickle may have failed only because our window ended (the decoder's codes for running out of bytes). */
function ranOutOfBytes(e: unknown): boolean {
  return e instanceof PickleError && /TRUNCATED|NO_STOP|BAD_FRAME/.test(e.code);
}

export async function readLegacy(
  file: ByteSource,
  options: { pickleLimits?: Partial<PickleLimits>; reduce?: ReduceHook },
): Promise<LegacyResult> {
  // Grow the window over the pickles, reading only the new bytes each time, so little storage data is read.
  let window = Math.min(file.size, FIRST_WINDOW);
  let bytes: Uint8Array = await file.read(0, window, "legacy torch pickles");
  const limit = Math.min(file.size, MAX_PICKLE_BYTES);
  for (;;) {
    try {
      return await parseAll(file, bytes, options);
    } catch (e) {
      if (!ranOutOfBytes(e) || window >= limit) throw e;
      const next = Math.min(limit, window * 4);
      const grown = new Uint8Array(next);
      grown.set(bytes);
      grown.set(await file.read(window, next - window, "legacy torch pickles"), window);
      bytes = grown;
      window = next;
    }
  }
}

async function parseAll(file: ByteSource, bytes: Uint8Array, options: { pickleLimits?: Partial<PickleLimits>; reduce?: ReduceHook }): Promise<LegacyResult> {
  const limits = options.pickleLimits;
  let magic: DecodedPickle;
  try {
    magic = decodePickle(bytes, 0, { limits });
  } catch (e) {
    // The magic pickle is under 40 bytes in every protocol: never grow the window for it (a big plain pickle is not torch).
    throw new FormatError("TORCH_BAD_MAGIC", `not a torch file: it does not start with a pickle (${(e as Error).message})`, 0);
  }
  // The magic must be a plain int: a pickle that *computes* it (eval("0x1950...")) is a known scanner bypass.
  if (magic.value !== LEGACY_MAGIC || magic.calls.length > 0 || magic.globals.length > 0) {
    throw new FormatError("TORCH_BAD_MAGIC", "not a torch file: the first pickle is not the legacy magic number 0x1950a86a20f9469cfc6c", 0);
  }
  const proto = decodePickle(bytes, magic.end, { limits });
  if (proto.value !== PROTOCOL_VERSION) {
    throw new FormatError("TORCH_BAD_PROTOCOL_VERSION", `legacy torch protocol version is ${String(proto.value)}, expected ${PROTOCOL_VERSION}`, magic.end);
  }
  const sys = decodePickle(bytes, proto.end, { limits });
  const rebuilder = new TorchRebuilder("main pickle");
  const main = decodePickle(bytes, sys.end, { limits, persistentLoad: rebuilder.persistentLoad, rebuild: rebuilder.reduce, reduce: options.reduce });
  const keysPickle = decodePickle(bytes, main.end, { limits });
  const keys = seqItems(keysPickle.value);
  if (!keys || !keys.every((k) => typeof k === "string")) {
    throw new FormatError("TORCH_BAD_STORAGE_KEYS", "the legacy storage-key pickle is not a list of strings", main.end);
  }
  const problems = rebuilder.problems;
  const locations = await walkStorages(file, bytes, keysPickle.end, keys as string[], rebuilder, problems);
  return { pickle: main, rebuilder, locations, problems, sysInfo: sys.value };
}

/** Little-endian flag from the sys_info pickle, when it says. */
export function sysInfoLittleEndian(sys: PyValue): boolean | undefined {
  if (!(sys instanceof PyDict)) return undefined;
  const v = sys.get("little_endian");
  return typeof v === "boolean" ? v : undefined;
}

async function walkStorages(file: ByteSource, window: Uint8Array, start: number, keys: string[], rb: TorchRebuilder, problems: TorchProblem[]): Promise<Map<string, StorageLocation>> {
  const locations = new Map<string, StorageLocation>();
  let pos = start;
  let stopped: boolean;
  const counts = new CountReader(file, Buffer.from(window.buffer, window.byteOffset, window.byteLength)); // counts inside the pickle window cost no read
  for (const key of keys) {
    const ref = rb.storages.get(key);
    if (!ref || rb.views.has(key)) {
      // Without the storage type the element size is unknown, so nothing after this key can be located.
      problems.push({ code: "TORCH_STORAGE_UNREFERENCED", message: `storage ${key} is listed at byte ${pos} but no tensor references it: its element size is unknown, so the storages from here on cannot be located`, key });
      break;
    }
    if (locations.has(key)) {
      problems.push({ code: "TORCH_BAD_STORAGE_KEYS", message: `storage ${key} is listed twice`, key });
      break;
    }
    if (pos + 8 > file.size) {
      problems.push({ code: "TORCH_TRUNCATED", message: `the file ends at byte ${file.size}, before the element count of storage ${key} at byte ${pos}`, key, offset: pos });
      break;
    }
    const raw = await counts.at(pos, key);
    let count = raw.readBigInt64LE(0);
    // Old torch wrote the count in host order (data is always little-endian): accept a big-endian count that matches.
    if (count !== BigInt(ref.numel) && raw.readBigInt64BE(0) === BigInt(ref.numel)) count = BigInt(ref.numel);
    if (count !== BigInt(ref.numel)) {
      problems.push({ code: "TORCH_STORAGE_SIZE_MISMATCH", message: `storage ${key} at byte ${pos} holds ${count} elements but the pickle says ${ref.numel}`, key, offset: pos });
    }
    const dataStart = pos + 8;
    const need = count < 0n ? -1n : count * BigInt(ref.itemSize);
    if (need < 0n || BigInt(dataStart) + need > BigInt(file.size)) {
      problems.push({ code: "TORCH_TRUNCATED", message: `storage ${key} needs bytes ${dataStart}..${BigInt(dataStart) + need} but the file has only ${file.size} bytes`, key, offset: pos });
      if (need > 0n) locations.set(key, { key, offset: dataStart, length: file.size - dataStart, compressed: false });
      pos = file.size;
      break;
    }
    locations.set(key, { key, offset: dataStart, length: Number(need), compressed: false });
    pos = dataStart + Number(need);
    counts.lastStorageBytes = Number(need);
  }
  stopped = locations.size !== keys.length;
  if (pos < file.size && !stopped) {
    problems.push({ code: "TORCH_TRAILING_BYTES", message: `${file.size - pos} bytes follow the last storage (byte ${pos}); torch ignores them`, offset: pos });
  }
  for (const [key, view] of rb.views) {
    const root = locations.get(view.root.key);
    if (!root) continue;
    const off = view.offset * view.root.itemSize;
    const ref = rb.storages.get(key)!;
    locations.set(key, { key, offset: root.offset + off, length: Math.max(0, Math.min(ref.nbytes, root.length - off)), compressed: false });
  }
  for (const key of rb.storages.keys()) {
    if (!stopped && !locations.has(key) && !rb.views.has(key)) {
      problems.push({ code: "TORCH_STORAGE_MISSING", message: `storage ${key} is referenced by the pickle but not stored in the file`, key });
    }
  }
  return locations;
}

/**
 * The 8-byte counts, read one by one after large storages; after a small one a 64 KiB block is read,
 * since the next few counts are probably in it. So at most 64 KiB of storage bytes are read per small storage.
 */
class CountReader {
  lastStorageBytes = Infinity;
  private blockStart = 0;
  constructor(private readonly file: ByteSource, private block: Buffer) {}

  async at(pos: number, key: string): Promise<Buffer> {
    const rel = pos - this.blockStart;
    if (rel >= 0 && rel + 8 <= this.block.length) return this.block.subarray(rel, rel + 8);
    const len = this.lastStorageBytes <= SMALL_STORAGE ? Math.min(COUNT_BLOCK, this.file.size - pos) : 8;
    this.block = await this.file.read(pos, Math.max(8, len), `element count of storage ${key}`);
    this.blockStart = pos;
    return this.block.subarray(0, 8);
  }
}

const SMALL_STORAGE = 4096;
const COUNT_BLOCK = 64 * 1024;
