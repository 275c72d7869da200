import { formatNumber } from "../findings/finding.js";
import { PyBytes, PyCall, PyDict, PyFloat, PyGlobal, PyList, PyPersistent, PySet, PyTuple, StorageRef, Tensor, pyTypeName, type PyValue } from "../formats/pickle/values.js";
import { MAX_RENDER_DEPTH, keyString, type TensorValues } from "./to-json.js";

const MAX_CHILDREN = 50;
const MAX_LINES = 5000;

/** An indented tree: containers with their sizes, tensors as `float32[16, 32]`, small values inline. Iterative. */
export function toTextTree(root: PyValue, values: TensorValues): string[] {
  const lines: string[] = [];
  const stack: [string, PyValue, number][] = [["", root, 0]];
  while (stack.length > 0) {
    if (lines.length >= MAX_LINES) {
      lines.push(`… output stopped after ${MAX_LINES} lines`);
      break;
    }
    const [label, v, depth] = stack.pop()!;
    const pad = "  ".repeat(depth);
    const children = childrenOf(v);
    lines.push(`${pad}${label}${label ? ": " : ""}${inline(v, values)}`);
    if (!children) continue;
    if (depth + 1 >= MAX_RENDER_DEPTH) {
      lines.push(`${pad}  … nested deeper than ${MAX_RENDER_DEPTH} levels`);
      continue;
    }
    const shown = children.slice(0, MAX_CHILDREN);
    const rest: [string, PyValue, number][] = shown.map(([k, c]) => [k, c, depth + 1]);
    if (children.length > shown.length) rest.push([`… ${children.length - shown.length} more`, "", depth + 1]);
    for (let i = rest.length - 1; i >= 0; i--) stack.push(rest[i]!);
  }
  return lines;
}

function childrenOf(v: PyValue): [string, PyValue][] | undefined {
  if (v instanceof PyDict) return v.size === 0 ? undefined : v.entries().map(([k, c]) => [keyString(k), c]);
  if (v instanceof PyList || v instanceof PyTuple) return v.items.length === 0 || v.items.every(isScalar) ? undefined : v.items.map((c, i) => [`[${i}]`, c]);
  if (v instanceof PyCall) {
    const kids: [string, PyValue][] = v.args.map((a, i) => [`arg ${i}`, a]);
    if (v.state !== undefined) kids.push(["state", v.state]);
    return kids.length > 0 ? kids : undefined;
  }
  return undefined;
}

function isScalar(v: PyValue): boolean {
  return v === null || typeof v !== "object" || v instanceof PyFloat;
}

function inline(v: PyValue, values: TensorValues): string {
  if (v === null) return "None";
  if (typeof v === "string") return JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v);
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v instanceof PyFloat) return formatNumber(v.value);
  if (v instanceof Tensor) {
    const value = values.has(v) ? ` = ${String(values.get(v))}` : "";
    return `${v.isParameter ? "Parameter " : ""}${v.dtype}[${v.shape.join(", ")}]${value}${v.storage.location !== "cpu" ? ` (${v.storage.location})` : ""}`;
  }
  if (v instanceof PyDict) return `${v.className} (${v.size} keys)`;
  if (v instanceof PyList || v instanceof PyTuple) {
    const open = v instanceof PyList ? "[" : "(";
    const close = v instanceof PyList ? "]" : ")";
    if (v.items.length > 0 && v.items.every(isScalar) && v.items.length <= 16) return `${open}${v.items.map((x) => inline(x, values)).join(", ")}${close}`;
    return `${pyTypeName(v)} (${v.items.length} items)`;
  }
  if (v instanceof PySet) return `${pyTypeName(v)} (${v.items.length} items)`;
  if (v instanceof PyBytes) return `${v.kind} (${v.bytes.length} bytes)`;
  if (v instanceof PyGlobal) return `global ${v.qualname}`;
  if (v instanceof PyCall) return `object ${pyTypeName(v)}`;
  if (v instanceof StorageRef) return `storage ${v.dtype}[${v.numel}]`;
  if (v instanceof PyPersistent) return "persistent id";
  return "?";
}
