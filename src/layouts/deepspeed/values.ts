import { PyCall, PyDict, PyGlobal, PyTuple, Tensor, isDict, seqItems, toNumber, type PyValue } from "../../formats/pickle/values.js";

/** A safe integer, else undefined (a bigint or float is not a count). */
export function intOf(v: PyValue | undefined): number | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}

/** The attribute dict of a rebuilt object (NEWOBJ + BUILD), or a dict itself. */
export function attrs(v: PyValue | undefined): PyDict | undefined {
  if (isDict(v)) return v;
  return v instanceof PyCall && isDict(v.state) ? v.state : undefined;
}

export function dictAt(d: PyValue | undefined, ...path: string[]): PyDict | undefined {
  let cur: PyValue | undefined = d;
  for (const k of path) cur = isDict(cur) ? cur.get(k) : undefined;
  return isDict(cur) ? cur : undefined;
}

export function boolAt(d: PyValue | undefined, ...path: string[]): boolean | undefined {
  const last = path[path.length - 1]!;
  const v = dictAt(d, ...path.slice(0, -1))?.get(last);
  return typeof v === "boolean" ? v : undefined;
}

const STAGES: Record<string, number> = { disabled: 0, optimizer_states: 1, gradients: 2, weights: 3, max_stage: 3 };

/** ZeroStageEnum as pickled: getattr(ZeroStageEnum, 'gradients') (Python 3.11+), ZeroStageEnum(2) (older), or a plain int. */
export function zeroStageOf(v: PyValue | undefined): number | undefined {
  if (!(v instanceof PyCall)) return intOf(v);
  const [first, second] = v.args;
  if (v.callee instanceof PyGlobal && v.callee.name === "getattr" && first instanceof PyGlobal && typeof second === "string") {
    return Object.hasOwn(STAGES, second) ? STAGES[second] : undefined;
  }
  if (v.callee instanceof PyGlobal && v.callee.name === "ZeroStageEnum") return intOf(first);
  return undefined;
}

/** A torch.Size (decoded to a tuple) or list of ints. */
export function shapeOf(v: PyValue | undefined): number[] | undefined {
  const items = v instanceof PyTuple ? v.items : seqItems(v);
  if (!items) return undefined;
  const out: number[] = [];
  for (const x of items) {
    const n = intOf(x);
    if (n === undefined || n < 0) return undefined;
    out.push(n);
  }
  return out;
}

export function numelOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensorNumel(v: PyValue | undefined): number | undefined {
  return v instanceof Tensor ? v.numel : undefined;
}

export interface ParamShape {
  name: string;
  numel: number;
}

/** `param_shapes`: one OrderedDict name -> torch.Size per optimizer group; undefined when it is not that. */
export function paramShapes(v: PyValue | undefined): ParamShape[][] | undefined {
  const groups = seqItems(v);
  if (!groups) return undefined;
  const out: ParamShape[][] = [];
  for (const g of groups) {
    if (!isDict(g)) return undefined;
    const group: ParamShape[] = [];
    for (const [name, s] of g.entries()) {
      const shape = shapeOf(s);
      if (typeof name !== "string" || !shape) return undefined;
      group.push({ name, numel: numelOf(shape) });
    }
    out.push(group);
  }
  return out;
}

/** The numbers of a list (partition_count is a list for ZeRO-1/2, an int for ZeRO-3). */
export function intList(v: PyValue | undefined): number[] | undefined {
  const one = intOf(v);
  if (one !== undefined) return [one];
  const items = seqItems(v);
  if (!items) return undefined;
  const out = items.map(intOf);
  return out.every((x): x is number => x !== undefined) ? out : undefined;
}

export function numberAt(d: PyDict | undefined, key: string): number | undefined {
  return toNumber(d?.get(key));
}
