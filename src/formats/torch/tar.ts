import { FormatError } from "../../core/errors.js";
import type { ByteSource } from "../../storage/types.js";
import { decodePickle } from "../pickle/decoder.js";
import { PickleError } from "../pickle/pickle-error.js";
import type { DecodedPickle, PickleLimits, PicklePartial, ReduceHook } from "../pickle/types.js";
import { PyGlobal, PyPersistent, PyTuple, StorageRef, Tensor, isInt, seqItems, type PyValue } from "../pickle/values.js";
import { legacyStorage } from "./dtypes.js";
import { MAX_PICKLE_BYTES } from "./legacy.js";
import { TorchRebuilder, describe, type TorchProblem } from "./rebuild.js";
import type { StorageLocation } from "./storage-location.js";
import { listTar, type TarMember } from "../tar/archive.js";
export { isTarHeader, listTar, type TarMember, type TarListing } from "../tar/archive.js";

/**
 * The pre-0.1.10 torch tar layout, which torch.load still tries first on a
 * non-zip file (serialization.py `legacy_load`). Members:
 *
 *   sys_info  pickle of {'protocol_version', 'little_endian', 'type_sizes'} (torch never reads it back)
 *   pickle    the main object; a persistent id is str(key) of a tensor or storage below
 *             (or a ('storage', ...) tuple, or a (class, source_file, source) container tuple)
 *   tensors   pickle(n), then n x [pickle((key, storage_id, tensor_type)), int32 ndim, 4 unused bytes,
 *             ndim x int64 size, ndim x int64 stride, int64 storage_offset]
 *   storages  pickle(n), then n x [pickle((key, location, storage_type)), int64 element count, raw bytes],
 *             then pickle([(view_key, root_key, offset, numel), ...])
 *
 * The tar container itself is read by ../tar/archive.ts. Storage bytes are never read: only where each storage lies is recorded. Every
 * pickle of the tensors and storages members is loaded by torch too, so their
 * globals and calls are added to the main pickle's for judging (their offsets
 * are relative to their own record).
 */

const MAX_SYS_INFO = 1024 * 1024;
/** A storage or tensor record pickle is ~50 bytes; a view list is small too but grows with the model. */
const MAX_RECORD_PICKLE = 256 * 1024 * 1024;
const MAX_NDIM = 1024;
/** Unresolved persistent ids reported one by one up to this many (a hostile pickle can repeat one millions of times). */
const MAX_MISSING_REPORTED = 100;
/** After a storage smaller than this, the next records are probably close: read ahead further. */
const SMALL_STORAGE = 4096;
/** Read-ahead after a small storage (and over the all-metadata tensors member); after a large one, or before the first, only this much. */
const SMALL_READ = 64 * 1024;
const FIRST_READ = 1024;



export interface TarResult {
  pickle: DecodedPickle;
  /** Absolute offset of the main pickle's byte 0. */
  pickleOffset: number;
  rebuilder: TorchRebuilder;
  locations: Map<string, StorageLocation>;
  problems: TorchProblem[];
  sysInfo: PyValue;
  members: Map<string, TarMember>;
}

interface Options { pickleLimits?: Partial<PickleLimits>; reduce?: ReduceHook }

/** Reads a member's bytes on demand, with a read-ahead block so consecutive small records cost one read. */
class MemberCursor {
  private block: Buffer = Buffer.alloc(0);
  private blockPos = 0;
  constructor(private readonly file: ByteSource, readonly member: TarMember, public readAhead: number) {}

  async bytes(pos: number, len: number, what: string): Promise<Buffer> {
    const m = this.member;
    if (pos + len > m.size) {
      throw new FormatError("TORCH_TAR_BAD_MEMBER", `${what} needs bytes ${pos}..${pos + len} of the ${JSON.stringify(m.name)} member, which has ${m.size}`, m.offset + pos);
    }
    if (pos + len > m.available) {
      throw new FormatError("TORCH_TAR_TRUNCATED", `${what} needs bytes ${pos}..${pos + len} of the ${JSON.stringify(m.name)} member, but the file ends after ${m.available} of them`, m.offset + pos);
    }
    const rel = pos - this.blockPos;
    if (rel >= 0 && rel + len <= this.block.length) return this.block.subarray(rel, rel + len);
    const n = Math.max(len, Math.min(this.readAhead, m.available - pos));
    this.block = await this.file.read(m.offset + pos, n, `${what} (tar member ${m.name})`);
    this.blockPos = pos;
    return this.block.subarray(0, len);
  }

  /** One pickle at `pos`: the window grows 4x while the pickle runs past it. Offsets in the result are relative to `pos`. */
  async pickle(pos: number, what: string, limits: Partial<PickleLimits> | undefined, max = MAX_RECORD_PICKLE): Promise<DecodedPickle> {
    const left = Math.min(this.member.available, this.member.size) - pos;
    if (left <= 0) {
      const code = this.member.available < this.member.size ? "TORCH_TAR_TRUNCATED" : "TORCH_TAR_BAD_MEMBER";
      throw new FormatError(code, `${what} should start at byte ${pos} of the ${JSON.stringify(this.member.name)} member, which ${code === "TORCH_TAR_TRUNCATED" ? "the file cuts there" : "ends there"}`, this.member.offset + pos);
    }
    let want = 512;
    for (;;) {
      const have = Math.min(left, want, max);
      const bytes = await this.bytes(pos, have, what);
      try {
        return decodePickle(bytes, 0, { limits });
      } catch (e) {
        if (!(e instanceof PickleError) || !/TRUNCATED|NO_STOP|BAD_FRAME/.test(e.code) || have >= Math.min(left, max)) {
          if (e instanceof PickleError) {
            const cut = have >= left && this.member.available < this.member.size;
            throw new PickleError(cut ? "TORCH_TAR_TRUNCATED" : e.code, `${what} in the ${JSON.stringify(this.member.name)} member: ${bare(e)}`, this.member.offset + pos + (e.offset ?? 0), e.partial);
          }
          throw e;
        }
        want *= 4;
      }
    }
  }
}

/** A storage or tensor key: ints become decimal strings (torch looks pickled ids up by int()). */
function keyOf(v: PyValue | undefined): string | undefined {
  if (typeof v === "string") return v;
  if (isInt(v)) return String(v);
  return undefined;
}

function safeInt(v: PyValue | undefined): number | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}

const STORAGE_MODULES = new Set(["torch", "torch.cuda"]);

export async function readTorchTar(file: ByteSource, options: Options): Promise<TarResult> {
  const { members, problems } = await listTar(file);
  const limits = options.pickleLimits;
  // Globals and calls of every auxiliary pickle, judged with the main one (torch unpickles them all).
  const aux: PicklePartial = { globals: [], calls: [], builds: [] };
  const absorb = (p: PicklePartial) => {
    aux.globals.push(...p.globals);
    aux.calls.push(...p.calls);
    aux.builds.push(...p.builds);
  };
  /** Any failure before the main pickle still carries what the earlier pickles referenced. */
  const withAux = (e: unknown): unknown => {
    if (e instanceof PickleError) {
      absorb(e.partial);
      return new PickleError(e.code, bare(e), e.offset ?? 0, aux, e.data);
    }
    if (e instanceof FormatError) return new PickleError(e.code, bare(e), e.offset ?? 0, aux, e.data);
    return e;
  };

  const need = (name: string): TarMember => {
    const m = members.get(name);
    if (!m) throw new FormatError("TORCH_TAR_MISSING_MEMBER", `the tar archive has no ${JSON.stringify(name)} member (members: ${[...members.keys()].slice(0, 8).map((k) => JSON.stringify(k)).join(", ") || "none"})`);
    if (m.type !== "0" && m.type !== "\0" && m.type !== "7") {
      throw new FormatError("TORCH_TAR_BAD_MEMBER", `the ${JSON.stringify(name)} member is not a regular file (tar type ${JSON.stringify(m.type)}): refusing to follow links`, m.headerOffset);
    }
    return m;
  };
  const whole = async (m: TarMember, max: number, what: string): Promise<Buffer> => {
    if (m.size > max) throw new FormatError("TORCH_TAR_LIMIT", `the ${JSON.stringify(m.name)} member is ${m.size} bytes, over the ${max}-byte limit for ${what}`, m.offset);
    if (m.available < m.size) throw new FormatError("TORCH_TAR_TRUNCATED", `the ${JSON.stringify(m.name)} member needs ${m.size} bytes but the file ends after ${m.available}`, m.offset + m.available);
    return file.read(m.offset, m.size, `tar member ${m.name}`);
  };

  const objects = new Map<string, StorageRef | Tensor>();
  const locations = new Map<string, StorageLocation>();
  let sysInfo: PyValue = null;
  let storagesComplete: boolean;
  let pickleMember: TarMember;
  let bytes: Buffer;
  try {
    const sys = members.get("sys_info");
    if (sys && (sys.type === "0" || sys.type === "\0")) {
      // torch never reads sys_info back: a broken one is only a problem.
      try {
        const d = decodePickle(await whole(sys, MAX_SYS_INFO, "sys_info"), 0, { limits });
        absorb(d);
        sysInfo = d.value;
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        if (e instanceof PickleError) absorb(e.partial);
        problems.push({ code: "TORCH_TAR_BAD_SYS_INFO", message: `the "sys_info" member cannot be decoded: ${e.message}`, offset: sys.offset });
      }
    }
    pickleMember = need("pickle");
    storagesComplete = await walkStorages(new MemberCursor(file, need("storages"), FIRST_READ), limits, objects, locations, problems, absorb);
    if (members.has("tensors")) {
      await walkTensors(new MemberCursor(file, need("tensors"), SMALL_READ), limits, objects, problems, absorb);
    } else {
      problems.push({ code: "TORCH_TAR_MISSING_MEMBER", message: `the tar archive has no "tensors" member: torch.load would fail (KeyError)` });
    }
    bytes = await whole(pickleMember, MAX_PICKLE_BYTES, "the main pickle");
  } catch (e) {
    throw withAux(e);
  }
  const rebuilder = new TorchRebuilder(`tar member "pickle"`);
  for (const [k, v] of objects) if (v instanceof StorageRef) rebuilder.storages.set(k, v);
  let inline = 0;
  let missing = 0;
  const rebuild: ReduceHook = (c, a, o) => {
    // Hand-made tar files (burn's test data) pass the storage as a plain ('storage', type, key, location, numel)
    // tuple instead of a persistent id. torch.load would fail on them; we read them as such tools do, and say so.
    const first = a[0];
    if (c instanceof PyGlobal && c.module === "torch._utils" && c.name.startsWith("_rebuild_") && first instanceof PyTuple && first.items[0] === "storage") {
      if (inline++ === 0) {
        problems.push({ code: "TORCH_TAR_INLINE_STORAGE", message: `the main pickle passes a storage to ${c.qualname} as a plain ('storage', ...) tuple, not a persistent id (byte ${o}): torch.load would fail on this file`, offset: pickleMember.offset + o });
      }
      a = [rebuilder.persistentLoad(first, o), ...a.slice(1)];
    }
    return rebuilder.reduce(c, a, o);
  };
  const persistentLoad = (pid: PyValue, offset: number): PyValue => {
    if (seqItems(pid)) return rebuilder.persistentLoad(pid, offset);
    let key = keyOf(pid);
    if (typeof pid === "string" && !objects.has(pid) && pid.length <= 64 && /^\s*[+-]?\d+\s*$/.test(pid)) key = String(BigInt(pid.trim()));
    const obj = key === undefined ? undefined : objects.get(key);
    if (obj) return obj;
    if (missing++ < MAX_MISSING_REPORTED) problems.push({ code: "TORCH_STORAGE_MISSING", message: `the main pickle refers to ${JSON.stringify(typeof pid === "string" ? pid.slice(0, 40) : String(pid))} (byte ${offset}), which is neither a stored tensor nor a storage`, key, offset });
    return new PyPersistent(pid);
  };
  let main: DecodedPickle;
  try {
    main = decodePickle(bytes, 0, { limits, persistentLoad, rebuild, reduce: options.reduce });
  } catch (e) {
    if (e instanceof PickleError) {
      e.partial = { globals: [...e.partial.globals, ...aux.globals], calls: [...e.partial.calls, ...aux.calls], builds: [...e.partial.builds, ...aux.builds] };
    }
    throw e;
  }
  problems.push(...rebuilder.problems);
  if (main.end < bytes.length) {
    problems.push({ code: "TORCH_TRAILING_BYTES", message: `${bytes.length - main.end} bytes follow the STOP of the "pickle" member (at byte ${main.end}); torch ignores them`, offset: pickleMember.offset + main.end });
  }
  // Storages the main pickle itself introduced: legacy-style views of a stored root, or keys never stored.
  for (const [key, view] of rebuilder.views) {
    const root = locations.get(view.root.key);
    const ref = rebuilder.storages.get(key)!;
    if (!root || locations.has(key)) continue;
    const off = view.offset * view.root.itemSize;
    locations.set(key, { key, offset: root.offset + off, length: Math.max(0, Math.min(ref.nbytes, root.length - off)), compressed: false });
  }
  for (const key of rebuilder.storages.keys()) {
    if (!locations.has(key) && storagesComplete) {
      problems.push({ code: "TORCH_STORAGE_MISSING", message: `storage ${key} is referenced by the main pickle but not stored in the "storages" member`, key });
    }
  }
  const pickle: DecodedPickle = { ...main, globals: [...main.globals, ...aux.globals], calls: [...main.calls, ...aux.calls], builds: [...main.builds, ...aux.builds] };
  return { pickle, pickleOffset: pickleMember.offset, rebuilder, locations, problems, sysInfo, members };
}

/** Returns true when every storage (and the view list) was read; a cut file leaves the rest unlocated, as a problem. */
async function walkStorages(
  cur: MemberCursor, limits: Partial<PickleLimits> | undefined, objects: Map<string, StorageRef | Tensor>,
  locations: Map<string, StorageLocation>, problems: TorchProblem[], absorb: (p: PicklePartial) => void,
): Promise<boolean> {
  try {
    return await storageRecords(cur, limits, objects, locations, problems, absorb);
  } catch (e) {
    if (!(e instanceof FormatError) || e.code !== "TORCH_TAR_TRUNCATED") throw e;
    if (e instanceof PickleError) absorb(e.partial);
    problems.push({ code: "TORCH_TRUNCATED", message: e.message, offset: e.offset });
    return false;
  }
}

async function storageRecords(
  cur: MemberCursor, limits: Partial<PickleLimits> | undefined, objects: Map<string, StorageRef | Tensor>,
  locations: Map<string, StorageLocation>, problems: TorchProblem[], absorb: (p: PicklePartial) => void,
): Promise<boolean> {
  const m = cur.member;
  const countPickle = await cur.pickle(0, "the storage count", limits);
  absorb(countPickle);
  const n = safeInt(countPickle.value);
  if (n === undefined || n < 0) throw new FormatError("TORCH_BAD_STORAGE_KEYS", `the "storages" member starts with ${describe(countPickle.value)}, not a storage count`, m.offset);
  let pos = countPickle.end;
  for (let i = 0; i < n; i++) {
    const rec = await cur.pickle(pos, `storage record ${i}`, limits);
    absorb(rec);
    const at = m.offset + pos;
    const items = seqItems(rec.value);
    const key = keyOf(items?.[0]);
    const location = items?.[1];
    const type = items?.[2];
    if (!items || items.length !== 3 || key === undefined || typeof location !== "string") {
      throw new FormatError("TORCH_BAD_STORAGE", `storage record ${i} is ${describe(rec.value)}, not (key, location, storage_type)`, at);
    }
    const info = type instanceof PyGlobal && STORAGE_MODULES.has(type.module) ? legacyStorage(type.name) : undefined;
    if (!info || !(type instanceof PyGlobal)) throw new FormatError("TORCH_BAD_STORAGE", `storage ${key}: the storage type must be a torch storage class, got ${describe(type)}`, at);
    pos += rec.end;
    if (pos + 8 > m.available && m.available < m.size) {
      problems.push({ code: "TORCH_TRUNCATED", message: `the file ends before the element count of storage ${key} (byte ${m.offset + pos})`, key, offset: m.offset + pos });
      return false;
    }
    const count = (await cur.bytes(pos, 8, `element count of storage ${key}`)).readBigInt64LE(0);
    const nbytes = count * BigInt(info.itemSize);
    if (count < 0n || nbytes > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FormatError("TORCH_BAD_STORAGE", `storage ${key} claims ${count} elements`, m.offset + pos);
    }
    const dataStart = pos + 8;
    const size = Number(nbytes);
    if (objects.has(key)) problems.push({ code: "TORCH_BAD_STORAGE_KEYS", message: `storage ${key} is stored twice; torch keeps the last`, key, offset: at });
    const ref = new StorageRef(key, info.dtype, info.itemSize, location, Number(count), type.name);
    objects.set(key, ref);
    if (dataStart + size > m.size) {
      problems.push({ code: "TORCH_STORAGE_SIZE_MISMATCH", message: `storage ${key} needs bytes ${dataStart}..${dataStart + size} of the "storages" member, which has only ${m.size}`, key, offset: m.offset + pos });
      locations.set(key, { key, offset: m.offset + dataStart, length: Math.max(0, Math.min(m.available, m.size) - dataStart), compressed: false });
      return false;
    }
    if (dataStart + size > m.available) {
      problems.push({ code: "TORCH_TRUNCATED", message: `storage ${key} needs bytes up to ${m.offset + dataStart + size} but the file has only ${m.offset + m.available}`, key, offset: m.offset + pos });
      locations.set(key, { key, offset: m.offset + dataStart, length: m.available - dataStart, compressed: false });
      return false;
    }
    locations.set(key, { key, offset: m.offset + dataStart, length: size, compressed: false });
    pos = dataStart + size;
    cur.readAhead = size <= SMALL_STORAGE ? SMALL_READ : FIRST_READ;
  }
  if (pos >= m.size) {
    problems.push({ code: "TORCH_TAR_NO_VIEWS", message: `the "storages" member ends without the storage-view list: torch.load would fail (EOFError)`, offset: m.offset + pos });
    return true;
  }
  const views = await cur.pickle(pos, "the storage-view list", limits);
  absorb(views);
  const list = seqItems(views.value);
  if (!list) throw new FormatError("TORCH_BAD_STORAGE", `the storage-view list is ${describe(views.value)}, not a list`, m.offset + pos);
  for (const v of list) {
    const items = seqItems(v);
    const key = keyOf(items?.[0]);
    const rootKey = keyOf(items?.[1]);
    const offset = safeInt(items?.[2]);
    const numel = safeInt(items?.[3]);
    if (!items || items.length !== 4 || key === undefined || rootKey === undefined || offset === undefined || numel === undefined || offset < 0 || numel < 0) {
      throw new FormatError("TORCH_UNSUPPORTED_VIEW", `storage view ${describe(v)} is not (view_key, root_key, offset, numel)`, m.offset + pos);
    }
    const root = objects.get(rootKey);
    if (!(root instanceof StorageRef)) {
      problems.push({ code: "TORCH_STORAGE_MISSING", message: `storage view ${key} is a slice of storage ${rootKey}, which is not stored`, key });
      continue;
    }
    if (offset + numel > root.numel) {
      problems.push({ code: "TORCH_TENSOR_OUT_OF_BOUNDS", message: `storage view ${key} covers elements ${offset}..${offset + numel} of storage ${rootKey}, which has ${root.numel}`, key });
    }
    const ref = new StorageRef(key, root.dtype, root.itemSize, root.location, numel, root.storageType);
    objects.set(key, ref);
    const rl = locations.get(rootKey);
    if (rl) {
      const off = offset * root.itemSize;
      locations.set(key, { key, offset: rl.offset + off, length: Math.max(0, Math.min(ref.nbytes, rl.length - off)), compressed: false });
    }
  }
  const end = pos + views.end;
  if (end < m.size) problems.push({ code: "TORCH_TRAILING_BYTES", message: `${m.size - end} bytes follow the storage-view list in the "storages" member; torch ignores them`, offset: m.offset + end });
  return true;
}

async function walkTensors(
  cur: MemberCursor, limits: Partial<PickleLimits> | undefined, objects: Map<string, StorageRef | Tensor>,
  problems: TorchProblem[], absorb: (p: PicklePartial) => void,
): Promise<void> {
  const m = cur.member;
  const rb = new TorchRebuilder(`tar member "tensors"`);
  const rebuild = new PyGlobal("torch._utils", "_rebuild_tensor", 0);
  const countPickle = await cur.pickle(0, "the tensor count", limits);
  absorb(countPickle);
  const n = safeInt(countPickle.value);
  if (n === undefined || n < 0) throw new FormatError("TORCH_BAD_TENSOR", `the "tensors" member starts with ${describe(countPickle.value)}, not a tensor count`, m.offset);
  let pos = countPickle.end;
  for (let i = 0; i < n; i++) {
    const rec = await cur.pickle(pos, `tensor record ${i}`, limits);
    absorb(rec);
    const at = m.offset + pos;
    const items = seqItems(rec.value);
    const key = keyOf(items?.[0]);
    if (!items || items.length !== 3 || key === undefined) {
      throw new FormatError("TORCH_BAD_TENSOR", `tensor record ${i} is ${describe(rec.value)}, not (key, storage_id, tensor_type)`, at);
    }
    pos += rec.end;
    const head = await cur.bytes(pos, 8, `dimensions of tensor ${key}`);
    const ndim = head.readInt32LE(0);
    if (ndim < 0 || ndim > MAX_NDIM) throw new FormatError("TORCH_BAD_TENSOR", `tensor ${key} claims ${ndim} dimensions`, m.offset + pos);
    const meta = await cur.bytes(pos + 8, 16 * ndim + 8, `size and stride of tensor ${key}`);
    const sizes: PyValue[] = [];
    const strides: PyValue[] = [];
    for (let d = 0; d < ndim; d++) {
      sizes.push(small(meta.readBigInt64LE(8 * d)));
      strides.push(small(meta.readBigInt64LE(8 * (ndim + d))));
    }
    const storageOffset = small(meta.readBigInt64LE(16 * ndim));
    const metaAt = m.offset + pos;
    pos += 8 + 16 * ndim + 8;
    const storageKey = keyOf(items[1]);
    const storage = storageKey === undefined ? undefined : objects.get(storageKey);
    if (!(storage instanceof StorageRef)) {
      problems.push({ code: "TORCH_STORAGE_MISSING", message: `tensor ${key} lives in storage ${describe(items[1])}, which is not stored: torch.load would fail`, key, offset: at });
      continue;
    }
    const t = rb.reduce(rebuild, [storage, storageOffset, new PyTuple(sizes), new PyTuple(strides)], metaAt);
    if (t instanceof Tensor) objects.set(key, t);
  }
  problems.push(...rb.problems);
  if (pos < m.size) problems.push({ code: "TORCH_TRAILING_BYTES", message: `${m.size - pos} bytes follow the last tensor in the "tensors" member; torch ignores them`, offset: m.offset + pos });
}

function bare(e: Error): string {
  return e.message.replace(/ \(at byte \d+\)$/, "");
}

function small(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

