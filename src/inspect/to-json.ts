import { PyBytes, PyCall, PyDict, PyFloat, PyGlobal, PyList, PyPersistent, PySet, PyTuple, StorageRef, Tensor, type PyValue } from "../formats/pickle/values.js";

/** Deeper than this is shown as a marker: no recursion over untrusted depth. */
export const MAX_RENDER_DEPTH = 64;
export const MAX_ITEMS = 10_000;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Tensor values read from storage, by tensor (only 1-element tensors are read by default). */
export type TensorValues = Map<Tensor, unknown>;

/** The contract's `inspect --json` form of a decoded value. */
export function toJson(v: PyValue, values: TensorValues, depth = 0): Json {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") return numberJson(v);
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof PyFloat) return numberJson(v.value);
  if (depth >= MAX_RENDER_DEPTH) return { type: "truncated", reason: `nested deeper than ${MAX_RENDER_DEPTH} levels` };
  const sub = (x: PyValue) => toJson(x, values, depth + 1);
  if (v instanceof PyDict) {
    // A Map-built object with a null prototype: keys such as "__proto__" stay plain keys.
    const out: { [k: string]: Json } = Object.create(null) as { [k: string]: Json };
    for (const [k, x] of v.entries().slice(0, MAX_ITEMS)) out[keyString(k)] = sub(x);
    return out;
  }
  if (v instanceof PyList || v instanceof PyTuple) return v.items.slice(0, MAX_ITEMS).map(sub);
  if (v instanceof PySet) return { type: v.frozen ? "frozenset" : "set", items: v.items.slice(0, MAX_ITEMS).map(sub) };
  if (v instanceof PyBytes) return { type: v.kind, length: v.bytes.length, hex: Buffer.from(v.bytes.subarray(0, 64)).toString("hex") };
  if (v instanceof Tensor) return tensorJson(v, values);
  if (v instanceof StorageRef) return { type: "storage", dtype: v.dtype, key: v.key, location: v.location, numel: v.numel };
  if (v instanceof PyGlobal) return { type: "global", name: v.qualname };
  if (v instanceof PyCall) {
    const callee = v.callee instanceof PyGlobal ? v.callee.qualname : "object";
    const out: { [k: string]: Json } = { type: "object", class: callee, args: v.args.slice(0, MAX_ITEMS).map(sub) };
    if (v.state !== undefined) out["state"] = sub(v.state);
    return out;
  }
  if (v instanceof PyPersistent) return { type: "persistent_id", pid: sub(v.pid) };
  return null;
}

function tensorJson(t: Tensor, values: TensorValues): Json {
  const out: { [k: string]: Json } = { type: "tensor", dtype: t.dtype, shape: t.shape, stride: t.stride, storageOffset: t.storageOffset, requiresGrad: t.requiresGrad };
  if (t.isParameter) out["parameter"] = true;
  out["device"] = t.storage.location;
  if (values.has(t)) out["value"] = elementJson(values.get(t));
  return out;
}

export function elementJson(e: unknown): Json {
  if (typeof e === "number") return numberJson(e);
  if (typeof e === "bigint") return Number.isSafeInteger(Number(e)) ? Number(e) : e.toString();
  if (typeof e === "boolean") return e;
  if (Array.isArray(e)) return e.map(elementJson);
  return null;
}

function numberJson(n: number): Json {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  return n;
}

export function keyString(k: PyValue): string {
  if (typeof k === "string") return k;
  if (typeof k === "number" || typeof k === "bigint" || typeof k === "boolean") return String(k);
  if (k === null) return "None";
  if (k instanceof PyFloat) return String(k.value);
  if (k instanceof PyTuple) return `(${k.items.map(keyString).join(", ")})`;
  return `<${k.constructor.name}>`;
}
