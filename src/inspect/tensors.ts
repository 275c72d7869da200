import { PyCall, PyDict, PyList, PySet, PyTuple, Tensor, type PyValue } from "../formats/pickle/values.js";

/** Every Tensor object reachable from a value (iterative, each container once). */
export function collectTensorObjects(root: PyValue, limit = 10_000_000): Tensor[] {
  const out: Tensor[] = [];
  const seen = new Set<object>();
  const stack: PyValue[] = [root];
  while (stack.length > 0 && out.length < limit) {
    const v = stack.pop()!;
    if (v === null || typeof v !== "object" || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Tensor) out.push(v);
    else if (v instanceof PyDict) for (const [, c] of v.entries()) stack.push(c);
    else if (v instanceof PyList || v instanceof PyTuple || v instanceof PySet) stack.push(...v.items);
    else if (v instanceof PyCall) {
      stack.push(...v.args);
      if (v.state !== undefined) stack.push(v.state);
    }
  }
  return out;
}
