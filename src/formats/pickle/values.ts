/**
 * Inert values a pickle decodes to. Nothing here can run code: a global is a
 * name, a call is a record of callee and arguments. Plain Python values map to
 * plain JavaScript where that loses nothing we need:
 *
 *   None -> null, bool -> boolean, str -> string,
 *   int -> number (safe integers) or bigint (beyond 2^53),
 *   float -> PyFloat (so `3` and `3.0` stay distinguishable: an epoch must be an int),
 *   list -> PyList, tuple -> PyTuple, dict/OrderedDict -> PyDict, set -> PySet,
 *   bytes/bytearray -> PyBytes, torch tensors -> Tensor, other globals -> PyGlobal / PyCall.
 */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyBytes
  | PyList
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | PyCall
  | Tensor
  | StorageRef
  | PyPersistent;

export class PyFloat {
  constructor(readonly value: number) {}
}

export class PyBytes {
  constructor(
    readonly bytes: Uint8Array,
    readonly kind: "bytes" | "bytearray" = "bytes",
  ) {}
}

export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** CPython's empty tuple is a singleton; sharing ours saves an object per tensor (torch pickles three). */
export const EMPTY_TUPLE: PyTuple = Object.freeze(new PyTuple(Object.freeze([]) as unknown as PyValue[])) as PyTuple;

export class PySet {
  constructor(
    readonly items: PyValue[] = [],
    readonly frozen = false,
  ) {}
}

/** Dict keys: str, int and None compare by value; anything else (tuple, float, ...) by identity. */
export type PyKey = PyValue;

/** Beyond this many entries a dict keeps a Map. */
const SMALL_DICT = 8;

const EMPTY_LIST: readonly PyValue[] = Object.freeze([]);

export class PyDict {
  /**
   * Up to SMALL_DICT entries, keys and values interleaved in one array of exactly their size: an
   * optimizer holds a three-key dict per parameter (tens of thousands in a mixture-of-experts
   * model), where a Map each took twice the memory. Beyond that, a Map; nothing until the first entry
   * (every torch tensor carries an empty OrderedDict of hooks that nothing reads).
   */
  private flat: PyValue[] | undefined = undefined;
  private big: Map<PyKey, PyValue> | undefined = undefined;
  /** "dict", "OrderedDict", "Counter", or "defaultdict"... as pickled. */
  constructor(readonly className: string = "dict") {}
  /** The entries as a Map (from here on the dict keeps one). */
  get map(): Map<PyKey, PyValue> {
    if (!this.big) {
      const m = new Map<PyKey, PyValue>();
      const f = this.flat;
      if (f) for (let i = 0; i < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
      this.big = m;
      this.flat = undefined;
    }
    return this.big;
  }
  get(key: PyKey): PyValue | undefined {
    const k = normaliseKey(key);
    if (this.big) return this.big.get(k);
    const i = this.find(k);
    return i < 0 ? undefined : this.flat![i + 1];
  }
  has(key: PyKey): boolean {
    const k = normaliseKey(key);
    return this.big ? this.big.has(k) : this.find(k) >= 0;
  }
  set(key: PyKey, value: PyValue): void {
    const k = normaliseKey(key);
    if (this.big) {
      this.big.set(k, value);
      return;
    }
    const i = this.find(k);
    if (i >= 0) {
      this.flat![i + 1] = value;
      return;
    }
    const f = this.flat ?? [];
    if (f.length >= SMALL_DICT * 2) {
      this.map.set(k, value);
      return;
    }
    const g: PyValue[] = new Array(f.length + 2);
    for (let j = 0; j < f.length; j++) g[j] = f[j]!;
    g[f.length] = k;
    g[f.length + 1] = value;
    this.flat = g;
  }
  /**
   * SETITEMS' interleaved keys and values: a small dict grows once, not once per entry. With `adopt`
   * (the caller made `items` for this call and never reads it again), an empty dict takes `items`
   * itself as its entries when its keys are distinct: no copy per dict (an optimizer's state has
   * one three-key dict per parameter).
   */
  setMany(items: PyValue[], adopt = false): void {
    if (adopt && !this.big && !this.flat && items.length <= SMALL_DICT * 2) {
      let distinct = true;
      for (let i = 0; i < items.length && distinct; i += 2) {
        const k = (items[i] = normaliseKey(items[i]!)); // normaliseKey(normaliseKey(x)) is normaliseKey(x): safe if this falls through
        for (let j = 0; j < i; j += 2) {
          const x = items[j];
          if (x === k || (x !== x && k !== k)) {
            distinct = false;
            break;
          }
        }
      }
      if (distinct) {
        this.flat = items;
        return;
      }
    }
    const f = this.flat ?? [];
    if (this.big || f.length + items.length > SMALL_DICT * 2) {
      for (let i = 0; i < items.length; i += 2) this.set(items[i]!, items[i + 1]!);
      return;
    }
    const g: PyValue[] = new Array(f.length + items.length);
    let n = 0;
    for (; n < f.length; n++) g[n] = f[n]!;
    this.flat = g;
    for (let i = 0; i < items.length; i += 2) {
      const k = normaliseKey(items[i]!);
      const at = this.find(k, n);
      if (at >= 0) g[at + 1] = items[i + 1]!;
      else {
        g[n++] = k;
        g[n++] = items[i + 1]!;
      }
    }
    if (n < g.length) g.length = n; // keys repeated within `items` leave the end unused
  }
  /** The first value whose entry passes `test`, in order, without copying the entries (one call per optimizer parameter). */
  findValue(test: (key: PyKey, value: PyValue) => boolean): PyValue | undefined {
    if (this.big) {
      for (const [k, v] of this.big) if (test(k, v)) return v;
      return undefined;
    }
    const f = this.flat;
    if (f) for (let i = 0; i < f.length; i += 2) if (test(f[i]!, f[i + 1]!)) return f[i + 1];
    return undefined;
  }
  /**
   * Keys and values interleaved, in order, not to be changed: the dict's own array while it is small
   * (no copy), else one made from its Map. For loops over tens of thousands of dicts without a
   * callback or an entry array per item.
   */
  interleaved(): readonly PyValue[] {
    if (!this.big) return this.flat ?? EMPTY_LIST;
    const out: PyValue[] = new Array(this.big.size * 2);
    let i = 0;
    this.big.forEach((v, k) => {
      out[i++] = k;
      out[i++] = v;
    });
    return out;
  }
  /** Every entry in order, without copying them. */
  forEach(visit: (key: PyKey, value: PyValue) => void): void {
    if (this.big) {
      for (const [k, v] of this.big) visit(k, v);
      return;
    }
    const f = this.flat;
    if (f) for (let i = 0; i < f.length; i += 2) visit(f[i]!, f[i + 1]!);
  }
  keys(): PyKey[] {
    if (this.big) return [...this.big.keys()];
    const f = this.flat ?? [];
    const out: PyKey[] = [];
    for (let i = 0; i < f.length; i += 2) out.push(f[i]!);
    return out;
  }
  entries(): [PyKey, PyValue][] {
    if (this.big) return [...this.big.entries()];
    const f = this.flat ?? [];
    const out: [PyKey, PyValue][] = [];
    for (let i = 0; i < f.length; i += 2) out.push([f[i]!, f[i + 1]!]);
    return out;
  }
  get size(): number {
    return this.big ? this.big.size : (this.flat?.length ?? 0) / 2;
  }
  /** The position of key `k` (already normalised) among the first `used` slots of `flat`, by the Map's SameValueZero. */
  private find(k: PyKey, used = this.flat?.length ?? 0): number {
    const f = this.flat;
    if (!f) return -1;
    for (let i = 0; i < used; i += 2) {
      const x = f[i];
      if (x === k || (x !== x && k !== k)) return i;
    }
    return -1;
  }
}

function normaliseKey(key: PyKey): PyKey {
  // bigint keys within the safe range collapse onto numbers so `get(3)` finds a LONG1-pickled 3.
  if (typeof key === "bigint" && key >= BigInt(Number.MIN_SAFE_INTEGER) && key <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(key);
  }
  if (key instanceof PyFloat && Number.isInteger(key.value)) return key.value === 0 ? 0 : key.value; // Python: hash(3.0) == hash(3)
  if (key === 0) return 0; // -0 is the key 0, as a Map stores it
  return key;
}

/** A reference to `module.name` as written by GLOBAL / STACK_GLOBAL / INST. Never resolved. */
export class PyGlobal {
  /** `module.name`, made once: rebuild hooks compare it for every call. */
  readonly qualname: string;
  constructor(
    readonly module: string,
    readonly name: string,
    /** Byte offset of the opcode that named it, within the pickle. */
    readonly offset: number,
  ) {
    this.qualname = `${module}.${name}`;
  }
}

/**
 * What REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ would have produced by calling
 * `callee(*args)`. BUILD stores its argument in `state`; APPEND(S)/SETITEM(S) on
 * it land in listItems / dictItems. Never called.
 */
export class PyCall {
  state: PyValue | undefined = undefined;
  readonly listItems: PyValue[] = [];
  readonly dictItems: [PyValue, PyValue][] = [];
  constructor(
    readonly callee: PyValue,
    readonly args: PyValue[],
    readonly kind: "reduce" | "newobj" | "newobj_ex" | "inst" | "obj",
    readonly offset: number,
    readonly kwargs?: PyValue,
  ) {}
}

/** torch dtype names as torch prints them (`torch.float32` -> "float32"). */
export type TorchDtype = string;

/** A storage referenced by a persistent id `('storage', type, key, location, numel)`. */
export class StorageRef {
  constructor(
    readonly key: string,
    /** dtype of the storage elements ("uint8" for UntypedStorage). */
    readonly dtype: TorchDtype,
    /** Bytes per element of `dtype`. */
    readonly itemSize: number,
    readonly location: string,
    /** Element count as pickled (for UntypedStorage this is a byte count). */
    readonly numel: number,
    /** The storage class name as pickled, e.g. "FloatStorage", "UntypedStorage". */
    readonly storageType: string,
  ) {}
  get nbytes(): number {
    return this.numel * this.itemSize;
  }
}

/** A tensor rebuilt by torch._utils._rebuild_tensor(_v2/_v3) / _rebuild_parameter. No data is read. */
export class Tensor {
  constructor(
    readonly dtype: TorchDtype,
    readonly shape: number[],
    readonly stride: number[],
    /** Offset into the storage, in elements of `dtype`. */
    readonly storageOffset: number,
    readonly storage: StorageRef,
    readonly requiresGrad: boolean,
    public isParameter = false,
  ) {}
  get numel(): number {
    let n = 1;
    for (let i = 0; i < this.shape.length; i++) n *= this.shape[i]!;
    return n;
  }
}

/** Any persistent id that is not a torch storage (e.g. legacy `('module', ...)`). */
export class PyPersistent {
  constructor(readonly pid: PyValue) {}
}

// ---- small accessors used by layouts and checks -------------------------------------------

export function isInt(v: PyValue | undefined): v is number | bigint {
  return (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
}

/** A Python number (int or float) as a JS number, else undefined. */
export function toNumber(v: PyValue | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "boolean") return undefined;
  return undefined;
}

export function isDict(v: PyValue | undefined): v is PyDict {
  return v instanceof PyDict;
}

/** list or tuple items, else undefined. */
export function seqItems(v: PyValue | undefined): PyValue[] | undefined {
  if (v instanceof PyList || v instanceof PyTuple) return v.items;
  return undefined;
}

/** The Python type name of a value, for messages ("int", "float", "dict", "Tensor", ...). */
export function pyTypeName(v: PyValue | undefined): string {
  if (v === undefined) return "missing";
  if (v === null) return "None";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number" || typeof v === "bigint") return "int";
  if (typeof v === "string") return "str";
  if (v instanceof PyFloat) return "float";
  if (v instanceof PyBytes) return v.kind;
  if (v instanceof PyList) return "list";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyDict) return v.className;
  if (v instanceof PySet) return v.frozen ? "frozenset" : "set";
  if (v instanceof Tensor) return "Tensor";
  if (v instanceof StorageRef) return "Storage";
  if (v instanceof PyGlobal) return v.qualname;
  if (v instanceof PyCall) return v.callee instanceof PyGlobal ? v.callee.qualname : "object";
  return "object";
}
