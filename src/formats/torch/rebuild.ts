import { FormatError } from "../../core/errors.js";
import type { ReduceHook } from "../pickle/types.js";
import { PyGlobal, PyPersistent, PyTuple, StorageRef, Tensor, isInt, seqItems, type PyValue } from "../pickle/values.js";
import { dtypeFromName, itemSizeOf, legacyStorage } from "./dtypes.js";
import { StorageTable } from "./storage-table.js";

/**
 * Turns torch's persistent ids and tensor-rebuild calls into inert StorageRef
 * and Tensor values. Nothing is imported or called: callee names are compared
 * as strings. Inconsistencies that leave the metadata usable are collected as
 * problems; malformed arguments throw, because no tensor can be described.
 */

export interface TorchProblem { code: string; message: string; key?: string; offset?: number }

/** A legacy storage view: bytes [offset, offset + numel) of another storage, in elements. */
export interface StorageView { root: StorageRef; offset: number }

const STORAGE_MODULES = new Set(["torch", "torch.cuda", "torch.storage"]);
const UNTYPED = { dtype: "uint8", itemSize: 1 };

export class TorchRebuilder {
  readonly storages = new StorageTable();
  readonly views = new Map<string, StorageView>();
  readonly problems: TorchProblem[] = [];
  private lastType: PyGlobal | undefined = undefined;
  private lastInfo: { dtype: string; itemSize: number } | undefined = undefined;
  /** Tensors of one model share a handful of shapes and strides: one array each (never mutated). */
  private readonly shapes = new ShapeCache();
  /** Where offsets come from, for messages ("data.pkl", "main pickle"). */
  constructor(private readonly where: string) {}

  persistentLoad = (pid: PyValue, offset: number): PyValue => {
    const items = seqItems(pid);
    if (!items || items[0] !== "storage") return new PyPersistent(pid);
    if (items.length < 5 || items.length > 6) throw this.bad(`storage persistent id has ${items.length} fields, expected 5 (zip) or 6 (legacy)`, offset);
    const root = this.storage(items[1], items[2], items[3], items[4], offset);
    const view = items[5];
    if (view === undefined || view === null) return root;
    return this.view(root, view, offset);
  };

  private storage(type: PyValue | undefined, rawKey: PyValue | undefined, location: PyValue | undefined, numel: PyValue | undefined, offset: number): StorageRef {
    if (!(type instanceof PyGlobal) || !STORAGE_MODULES.has(type.module)) {
      throw this.bad(`storage type must be a torch storage class, got ${describe(type)}`, offset);
    }
    // Every tensor names the same (memoized) storage class global: look it up once.
    if (type !== this.lastType) [this.lastType, this.lastInfo] = [type, type.name === "UntypedStorage" ? UNTYPED : legacyStorage(type.name)];
    const info = this.lastInfo;
    if (!info) throw this.bad(`unknown storage type ${type.qualname}`, offset);
    const key = typeof rawKey === "string" ? rawKey : isInt(rawKey) ? String(rawKey) : undefined;
    if (key === undefined) throw this.bad(`storage key must be a string, got ${describe(rawKey)}`, offset);
    if (typeof location !== "string") throw this.bad(`storage ${key}: location must be a string, got ${describe(location)}`, offset);
    const n = safeInt(numel);
    if (n === undefined || n < 0) throw this.bad(`storage ${key}: element count must be a non-negative integer, got ${describe(numel)}`, offset);
    const known = this.storages.get(key);
    if (known) {
      // torch keeps the first definition of a key; a later different one means the writer (or an editor) lied.
      if (known.dtype !== info.dtype || known.numel !== n) {
        this.problem("TORCH_STORAGE_CONFLICT", `storage ${key} is referenced as ${known.numel} x ${known.dtype} and as ${n} x ${info.dtype}`, key, offset);
      }
      return known;
    }
    const ref = new StorageRef(key, info.dtype, info.itemSize, location, n, type.name);
    this.storages.set(key, ref);
    return ref;
  }

  /** Legacy view_metadata = (view_key, offset, size): a slice of the root storage, cached by view_key. */
  private view(root: StorageRef, spec: PyValue, offset: number): StorageRef {
    const v = seqItems(spec);
    const viewKey = v && v.length === 3 && typeof v[0] === "string" ? v[0] : undefined;
    const start = v ? safeInt(v[1]) : undefined;
    const size = v ? safeInt(v[2]) : undefined;
    if (viewKey === undefined || start === undefined || size === undefined || start < 0 || size < 0) {
      throw new FormatError("TORCH_UNSUPPORTED_VIEW", `storage ${root.key}: unsupported view metadata ${describe(spec)} in the ${this.where}`, offset, { key: root.key });
    }
    if (start + size > root.numel) {
      this.problem("TORCH_TENSOR_OUT_OF_BOUNDS", `storage view ${viewKey} covers elements ${start}..${start + size} of storage ${root.key}, which has ${root.numel}`, root.key, offset);
    }
    const known = this.storages.get(viewKey);
    if (known) return known;
    const ref = new StorageRef(viewKey, root.dtype, root.itemSize, root.location, size, root.storageType);
    this.storages.set(viewKey, ref);
    this.views.set(viewKey, { root, offset: start });
    return ref;
  }

  reduce: ReduceHook = (callee, args, offset) => this.rebuild(callee, args, offset, true);

  private rebuild(callee: PyValue, args: PyValue[], offset: number, allowWrapper: boolean): PyValue | undefined {
    if (!(callee instanceof PyGlobal)) return undefined;
    switch (callee.qualname) {
      case "torch._utils._rebuild_tensor":
        return this.tensor(args, offset, 4, undefined);
      case "torch._utils._rebuild_tensor_v2":
        return this.tensor(args, offset, 6, undefined);
      case "torch._utils._rebuild_tensor_v3":
        return this.tensor(args, offset, 7, this.dtypeArg(args[6], offset));
      case "torch._utils._rebuild_qtensor":
        return this.tensor(args, offset, 7, undefined, 5);
      case "torch._utils._rebuild_parameter":
      case "torch._utils._rebuild_parameter_with_state": {
        const data = args[0];
        if (!(data instanceof Tensor)) return undefined; // not one of ours: stays an inert call
        return new Tensor(data.dtype, data.shape, data.stride, data.storageOffset, data.storage, this.bool(args[1], offset), true);
      }
      case "torch._tensor._rebuild_from_type_v2": {
        // (func, type, args, state): apply the inner rebuild once; a wrapper inside a wrapper is left alone.
        const inner = args[2] instanceof PyTuple ? args[2].items : undefined;
        if (!allowWrapper || !inner) return undefined;
        const t = this.rebuild(args[0] ?? null, inner, offset, false);
        if (t instanceof Tensor && args[1] instanceof PyGlobal && args[1].qualname === "torch.nn.parameter.Parameter") t.isParameter = true;
        return t;
      }
      default:
        return undefined;
    }
  }

  private dtypeArg(v: PyValue | undefined, offset: number): string {
    const d = v instanceof PyGlobal && v.module === "torch" ? dtypeFromName(v.name) : undefined;
    if (!d) throw this.badTensor(`_rebuild_tensor_v3 dtype must be a torch dtype, got ${describe(v)}`, offset);
    return d;
  }

  private bool(v: PyValue | undefined, offset: number): boolean {
    if (typeof v === "boolean") return v;
    if (v === 0 || v === 1) return v === 1;
    throw this.badTensor(`requires_grad must be a bool, got ${describe(v)}`, offset);
  }

  /** storage, offset, size, stride[, ..., requires_grad at `gradAt`]. */
  private tensor(args: PyValue[], offset: number, minArgs: number, dtype: string | undefined, gradAt = 4): Tensor {
    if (args.length < minArgs) throw this.badTensor(`tensor rebuild has ${args.length} arguments, expected at least ${minArgs}`, offset);
    const storage = args[0];
    const rawOffset = args[1];
    const rawSize = args[2];
    const rawStride = args[3];
    if (!(storage instanceof StorageRef)) throw this.badTensor(`tensor rebuild expects a storage, got ${describe(storage)}`, offset);
    const storageOffset = safeInt(rawOffset);
    if (storageOffset === undefined || storageOffset < 0) throw this.badTensor(`storage offset must be a non-negative integer, got ${describe(rawOffset)}`, offset);
    const shape = this.shapes.intList(rawSize);
    const stride = this.shapes.intList(rawStride);
    if (!shape || !stride || shape.length !== stride.length) {
      throw this.badTensor(`size ${describe(rawSize)} and stride ${describe(rawStride)} must be tuples of non-negative integers of the same length`, offset);
    }
    const requiresGrad = args.length > gradAt ? this.bool(args[gradAt], offset) : false;
    return this.build(storage, storageOffset, shape, stride, requiresGrad, dtype, offset);
  }

  /**
   * `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)` from its parts, as the
   * tensor-sequence fast path read them (fast-tensor.ts): the same tensor and the same problems as
   * the call. The caller has checked what the call would throw on (see fastTensorParts).
   */
  tensorFromParts(storage: StorageRef, storageOffset: number, size: number[], stride: number[], rank: number, requiresGrad: boolean, offset: number): Tensor {
    return this.build(storage, storageOffset, this.shapes.fromNumbers(size, rank), this.shapes.fromNumbers(stride, rank), requiresGrad, undefined, offset);
  }

  /** A storage from the fields of its persistent id `('storage', type, key, location, numel)`, as persistentLoad makes it. */
  storageFromParts(type: PyValue, key: PyValue, location: PyValue, numel: PyValue, offset: number): StorageRef {
    return this.storage(type, key, location, numel, offset);
  }

  /** Whether `type` names a storage class persistentLoad accepts (so storageFromParts cannot throw for it). */
  isStorageClass(type: PyValue): boolean {
    return type instanceof PyGlobal && STORAGE_MODULES.has(type.module) && (type.name === "UntypedStorage" || legacyStorage(type.name) !== undefined);
  }

  private build(storage: StorageRef, storageOffset: number, shape: number[], stride: number[], requiresGrad: boolean, dtype: string | undefined, offset: number): Tensor {
    const dt = dtype ?? storage.dtype;
    const itemSize = itemSizeOf(dt) ?? 1;
    // Plain numbers while exact (the common case, and fast); BigInt only when a hostile shape overflows them.
    let numel = 1;
    let last = storageOffset;
    for (let d = 0; d < shape.length; d++) {
      numel *= shape[d]!;
      last += Math.max(shape[d]! - 1, 0) * stride[d]!;
    }
    if (!Number.isSafeInteger(numel)) throw this.badTensor(`shape ${JSON.stringify(shape)} has more elements than can exist`, offset);
    const need = numel === 0 ? 0 : (last + 1) * itemSize;
    // Extent in bytes against the storage's bytes: v3 views an untyped (byte) storage as another dtype.
    const exact = Number.isSafeInteger(need);
    if (exact ? need > storage.nbytes : bigExtent(storageOffset, shape, stride, itemSize) > BigInt(storage.nbytes)) {
      const needBytes = exact ? String(need) : String(bigExtent(storageOffset, shape, stride, itemSize));
      this.problem("TORCH_TENSOR_OUT_OF_BOUNDS", `a ${dt} tensor of shape ${JSON.stringify(shape)}, stride ${JSON.stringify(stride)}, offset ${storageOffset} needs ${needBytes} bytes of storage ${storage.key}, which has ${storage.nbytes}`, storage.key, offset);
    }
    return new Tensor(dt, shape, stride, storageOffset, storage, requiresGrad);
  }

  private problem(code: string, message: string, key: string | undefined, offset: number): void {
    this.problems.push({ code, message: `${message} (${this.where} byte ${offset})`, key, offset });
  }

  private bad(message: string, offset: number): FormatError {
    return new FormatError("TORCH_BAD_STORAGE", `${message} in the ${this.where}`, offset);
  }

  private badTensor(message: string, offset: number): FormatError {
    return new FormatError("TORCH_BAD_TENSOR", `${message} in the ${this.where}`, offset);
  }
}

/**
 * The last few distinct integer lists seen, compared element by element: a mixture-of-experts
 * optimizer state repeats three or four shapes hundreds of thousands of times, and an array per
 * tensor was a fifth of the memory its metadata took.
 */
class ShapeCache {
  private readonly recent: number[][] = [];
  private next = 0;

  /** The first `n` of `items` (non-negative safe integers), as one of the recent lists when it equals one, else a copy (the caller reuses `items`). */
  fromNumbers(items: number[], n: number): number[] {
    for (let i = 0; i < this.recent.length; i++) if (samePrefix(this.recent[i]!, items, n)) return this.recent[i]!;
    const list = items.slice(0, n);
    if (this.recent.length < SHAPE_CACHE_SIZE) this.recent.push(list);
    else this.recent[this.next++ % SHAPE_CACHE_SIZE] = list;
    return list;
  }

  /** intList(v), as one of the recent lists when it equals one (compared before any copy is made). */
  intList(v: PyValue | undefined): number[] | undefined {
    const items = seqItems(v);
    if (!items) return undefined;
    for (let i = 0; i < this.recent.length; i++) if (sameList(this.recent[i]!, items)) return this.recent[i];
    const list = intList(v);
    if (list === undefined) return undefined;
    if (this.recent.length < SHAPE_CACHE_SIZE) this.recent.push(list);
    else this.recent[this.next++ % SHAPE_CACHE_SIZE] = list;
    return list;
  }
}

const SHAPE_CACHE_SIZE = 16;

/** `a` is the first `n` numbers of `b`. */
function samePrefix(a: number[], b: number[], n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `b` holds exactly the numbers of `a` (plain numbers only: a bigint or a float is never a cached list's). */
function sameList(a: number[], b: PyValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bigExtent(storageOffset: number, shape: number[], stride: number[], itemSize: number): bigint {
  let last = BigInt(storageOffset);
  for (let d = 0; d < shape.length; d++) last += BigInt(Math.max(shape[d]! - 1, 0)) * BigInt(stride[d]!);
  return (last + 1n) * BigInt(itemSize);
}

function safeInt(v: PyValue | undefined): number | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}

function intList(v: PyValue | undefined): number[] | undefined {
  const items = seqItems(v);
  if (!items) return undefined;
  const out: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const n = safeInt(items[i]);
    if (n === undefined || n < 0) return undefined;
    out.push(n);
  }
  return out;
}

/** Short, bounded description of an argument for messages. */
export function describe(v: PyValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "None";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v instanceof PyGlobal) return v.qualname;
  const items = seqItems(v);
  if (items && items.length <= 8 && items.every((x) => typeof x === "number" || typeof x === "bigint")) return `(${items.join(", ")})`;
  return v.constructor.name;
}
