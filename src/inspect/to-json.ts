import { PyBytes, PyCall, PyDict, PyFloat, PyGlobal, PyList, PyPersistent, PySet, PyTuple, StorageRef, Tensor, type PyValue } from "../formats/pickle/values.js";

/** Deeper than this is shown as a marker: no recursion over untrusted depth. */
export const MAX_RENDER_DEPTH = 64;
export const MAX_ITEMS = 10_000;
/**
 * Values written in all: a pickle can reference one value from many places (the memo), so a value
 * of a few hundred bytes can unfold into 2^64 paths within the depth limit (a list holding itself
 * twice). Past this many, every value is a marker. A 70,000-tensor optimizer state is ~500,000.
 */
export const MAX_VALUES = 1_000_000;
/**
 * One container (not empty) is written out at most this many times; after that each further
 * reference is a marker. The memo lets a pickle reference one list from many places: a list
 * holding itself twice unfolds into 2^64 paths within the depth limit (the fuzzer found a
 * `.metadata` mutant whose `inspect --json` ran until the process was killed). Real files share
 * too (torch's OneCycleLR state references one list more than 16 times), so the limit is high;
 * MAX_VALUES bounds what many shared containers together can write.
 */
export const MAX_REPEATS = 1000;

/** What one rendering may still spend. */
export interface RenderBudget {
  left: number;
  repeats: Map<object, number>;
}

export const renderBudget = (): RenderBudget => ({ left: MAX_VALUES, repeats: new Map() });

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Tensor values read from storage, by tensor (only 1-element tensors are read by default). */
export type TensorValues = Map<Tensor, unknown>;

/** The contract's `inspect --json` form of a decoded value. */
export function toJson(v: PyValue, values: TensorValues, depth = 0, budget: RenderBudget = renderBudget()): Json {
  if (budget.left <= 0) return { type: "truncated", reason: `output stopped after ${MAX_VALUES} values` };
  budget.left--;
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (isContainer(v)) {
    const n = (budget.repeats.get(v) ?? 0) + 1;
    budget.repeats.set(v, n);
    if (n > MAX_REPEATS) return { type: "truncated", reason: `the same ${v.constructor.name} again: the pickle references it from more than ${MAX_REPEATS} places` };
  }
  if (typeof v === "number") return numberJson(v);
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof PyFloat) return numberJson(v.value);
  if (depth >= MAX_RENDER_DEPTH) return { type: "truncated", reason: `nested deeper than ${MAX_RENDER_DEPTH} levels` };
  const sub = (x: PyValue) => toJson(x, values, depth + 1, budget);
  // Children until the budget runs out, then one marker: a container never walks its other children for nothing.
  const list = (xs: PyValue[]): Json[] => {
    const out: Json[] = [];
    for (let i = 0; i < xs.length && i < MAX_ITEMS; i++) {
      out.push(sub(xs[i]!));
      if (budget.left <= 0) break;
    }
    return out;
  };
  if (v instanceof PyDict) {
    // A Map-built object with a null prototype: keys such as "__proto__" stay plain keys.
    const out: { [k: string]: Json } = Object.create(null) as { [k: string]: Json };
    for (const [k, x] of v.entries().slice(0, MAX_ITEMS)) {
      out[keyString(k)] = sub(x);
      if (budget.left <= 0) break;
    }
    return out;
  }
  if (v instanceof PyList || v instanceof PyTuple) return list(v.items);
  if (v instanceof PySet) return { type: v.frozen ? "frozenset" : "set", items: list(v.items) };
  if (v instanceof PyBytes) return { type: v.kind, length: v.bytes.length, hex: Buffer.from(v.bytes.subarray(0, 64)).toString("hex") };
  if (v instanceof Tensor) return tensorJson(v, values);
  if (v instanceof StorageRef) return { type: "storage", dtype: v.dtype, key: v.key, location: v.location, numel: v.numel };
  if (v instanceof PyGlobal) return { type: "global", name: v.qualname };
  if (v instanceof PyCall) {
    const callee = v.callee instanceof PyGlobal ? v.callee.qualname : "object";
    const out: { [k: string]: Json } = { type: "object", class: callee, args: list(v.args) };
    if (v.state !== undefined) out["state"] = sub(v.state);
    return out;
  }
  if (v instanceof PyPersistent) return { type: "persistent_id", pid: sub(v.pid) };
  return null;
}

/** A non-empty container or object: what can unfold when it is referenced again (empty ones, such as the shared empty tuple, cannot). */
function isContainer(v: PyValue): v is PyDict | PyList | PyTuple | PySet | PyCall {
  if (v instanceof PyDict) return v.size > 0;
  if (v instanceof PyList || v instanceof PyTuple || v instanceof PySet) return v.items.length > 0;
  return v instanceof PyCall;
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

/** A tuple key is written out to this many characters: one tuple referenced twice per level doubles the text per level. */
const MAX_KEY_CHARS = 256;

export function keyString(k: PyValue): string {
  if (!(k instanceof PyTuple)) return keyText(k);
  const out = { text: "" };
  writeKey(k, out, 0);
  return out.text.length > MAX_KEY_CHARS ? `${out.text.slice(0, MAX_KEY_CHARS)}…` : out.text;
}

function keyText(k: PyValue): string {
  if (typeof k === "string") return k;
  if (typeof k === "number" || typeof k === "bigint" || typeof k === "boolean") return String(k);
  if (k === null) return "None";
  if (k instanceof PyFloat) return String(k.value);
  return `<${k.constructor.name}>`;
}

function writeKey(k: PyValue, out: { text: string }, depth: number): void {
  if (out.text.length > MAX_KEY_CHARS) return;
  if (!(k instanceof PyTuple)) out.text += keyText(k).slice(0, MAX_KEY_CHARS + 1);
  else {
    if (depth >= MAX_RENDER_DEPTH) {
      out.text += "(…)";
      return;
    }
    out.text += "(";
    for (let i = 0; i < k.items.length && out.text.length <= MAX_KEY_CHARS; i++) {
      if (i > 0) out.text += ", ";
      writeKey(k.items[i]!, out, depth + 1);
    }
    out.text += ")";
  }
}
