import { PyCall, PyDict, PyList, PyTuple, Tensor, pyTypeName, type PyValue } from "../formats/pickle/values.js";
import type { WeightTensor } from "./types.js";

/** Bounds the walk over untrusted nesting: a state_dict is flat, a few levels is plenty. */
const MAX_DEPTH = 8;
const MAX_TENSORS = 1_000_000;

/**
 * Every tensor reachable through dicts, lists and tuples, named by its key
 * path ("layer.0.weight" for a flat state_dict). Iterative: no recursion over
 * untrusted nesting.
 */
export function collectTensors(root: PyValue): WeightTensor[] {
  const out: WeightTensor[] = [];
  const stack: [string, PyValue, number][] = [["", root, 0]];
  const seen = new Set<object>();
  while (stack.length > 0 && out.length < MAX_TENSORS) {
    const [name, v, depth] = stack.pop()!;
    if (v instanceof Tensor) {
      out.push({ name, dtype: v.dtype, shape: v.shape });
      continue;
    }
    if (depth >= MAX_DEPTH || v === null || typeof v !== "object" || seen.has(v)) continue;
    seen.add(v);
    const children: [string, PyValue][] =
      v instanceof PyDict
        ? v.entries().map(([k, c]) => [String(k), c])
        : v instanceof PyList || v instanceof PyTuple
          ? v.items.map((c, i) => [String(i), c])
          : [];
    for (let i = children.length - 1; i >= 0; i--) {
      const [k, c] = children[i]!;
      stack.push([name === "" ? k : `${name}.${k}`, c, depth + 1]);
    }
  }
  return out;
}

/** "dict of 8 keys", "OrderedDict of 38 tensors": one line for the decoded pass message. */
export function summarise(v: PyValue): string {
  if (v instanceof PyDict) {
    const tensors = v.entries().filter(([, x]) => x instanceof Tensor).length;
    return tensors === v.size && tensors > 0 ? `${v.className} of ${tensors} tensors` : `${v.className} with ${v.size} keys`;
  }
  if (v instanceof PyCall) return `object ${pyTypeName(v)}`;
  return pyTypeName(v);
}
