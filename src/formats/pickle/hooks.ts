/**
 * The built-in reduce hook: calls whose result is plain data and that
 * torch's weights_only loader itself allows (OrderedDict, set, bytes from
 * `_codecs.encode`, torch.Size...) become that data, so layouts read a PyDict
 * or PyBytes instead of a call. Everything else stays a PyCall.
 *
 * `spend` is charged for every item or byte copied: one list fed to a million
 * `set()` calls through the memo must not cost a million copies.
 */
import { PyBytes, PyDict, PyGlobal, PyList, PySet, PyTuple } from "./values.js";
import type { PyValue } from "./values.js";

export type Spend = (items: number) => void;

export function builtinReduce(callee: PyValue, args: PyValue[], spend: Spend): PyValue | undefined {
  if (!(callee instanceof PyGlobal)) return undefined;
  const { module, name } = callee;
  if (module === "collections") {
    if (name === "OrderedDict" || name === "Counter") return dictFrom(name, args, spend);
    if (name === "defaultdict") return args.length === 0 ? new PyDict(name) : dictFrom(name, args.slice(1), spend);
    return undefined;
  }
  if (module === "_codecs" && name === "encode") {
    return args.length === 2 && typeof args[0] === "string" && isLatin1Name(args[1])
      ? latin1Bytes(args[0], "bytes", spend)
      : undefined;
  }
  if (module === "builtins") {
    if (name === "bytes" || name === "bytearray") return bytesFrom(name, args, spend);
    if (name === "set" || name === "frozenset") {
      if (args.length === 0) return new PySet([], name === "frozenset");
      const items = iterableItems(args[0]);
      if (args.length !== 1 || !items) return undefined;
      spend(items.length);
      return new PySet(items.slice(), name === "frozenset");
    }
    return undefined;
  }
  if (module === "torch" && name === "Size") {
    if (args.length === 0) return new PyTuple([]);
    const items = args.length === 1 && (args[0] instanceof PyTuple || args[0] instanceof PyList) ? args[0].items : undefined;
    if (!items) return undefined;
    spend(items.length);
    return new PyTuple(items.slice());
  }
  return undefined;
}

function dictFrom(className: string, args: PyValue[], spend: Spend): PyDict | undefined {
  const dict = new PyDict(className);
  if (args.length === 0) return dict;
  const src = args[0];
  if (args.length !== 1) return undefined;
  if (src instanceof PyDict) {
    spend(src.size);
    for (const [k, v] of src.entries()) dict.set(k, v);
    return dict;
  }
  if (!(src instanceof PyList || src instanceof PyTuple)) return undefined;
  spend(src.items.length);
  for (const pair of src.items) {
    const kv = pair instanceof PyTuple || pair instanceof PyList ? pair.items : undefined;
    if (!kv || kv.length !== 2) return undefined;
    dict.set(kv[0]!, kv[1]!);
  }
  return dict;
}

function bytesFrom(name: "bytes" | "bytearray", args: PyValue[], spend: Spend): PyBytes | undefined {
  if (args.length === 0) return new PyBytes(new Uint8Array(0), name);
  const src = args[0];
  if (args.length === 2 && typeof src === "string" && isLatin1Name(args[1])) return latin1Bytes(src, name, spend);
  if (args.length !== 1) return undefined;
  if (src instanceof PyBytes) {
    spend(src.bytes.length);
    return new PyBytes(src.bytes.slice(), name);
  }
  // An int argument means "this many zero bytes": never allocate what a file asks for.
  const items = src instanceof PyList || src instanceof PyTuple ? src.items : undefined;
  if (!items) return undefined;
  spend(items.length);
  const out = new Uint8Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) return undefined;
    out[i] = v;
  }
  return new PyBytes(out, name);
}

function latin1Bytes(s: string, kind: "bytes" | "bytearray", spend: Spend): PyBytes | undefined {
  spend(s.length);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return undefined; // Python would raise UnicodeEncodeError: keep the call
    out[i] = c;
  }
  return new PyBytes(out, kind);
}

function isLatin1Name(v: PyValue | undefined): boolean {
  return v === "latin1" || v === "latin-1";
}

function iterableItems(v: PyValue | undefined): PyValue[] | undefined {
  if (v instanceof PyList || v instanceof PyTuple || v instanceof PySet) return v.items;
  return undefined;
}
