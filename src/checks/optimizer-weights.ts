import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("optimizer-weights");

export const optimizerWeightsCheck = defineCheck({
  id: "optimizer-weights",
  title: "Optimizer state belongs to these weights",
  codes: ["OPTIMIZER_MATCHES_WEIGHTS", "OPTIMIZER_SHAPE_MISMATCH", "OPTIMIZER_TOO_MANY_STATES", "OPTIMIZER_PARAMS_EXCEED_WEIGHTS"],
  run({ checkpoint: c }) {
    if (c.optimizer.state !== "present") return { skip: "no readable optimizer state" };
    const w = c.weights;
    if (!w || w.files.length === 0 || w.files.some((f) => f.problem) || w.missingShards.length > 0) return { skip: "the weights are not all readable" };
    const o = c.optimizer.view;
    const tensors = w.files.flatMap((f) => f.tensors);
    if (o.stateCount > tensors.length) return findings(r.error("OPTIMIZER_TOO_MANY_STATES", { states: o.stateCount, tensors: tensors.length }));
    // Weights hold every parameter (and buffers): fewer tensors than the param groups list means another, bigger model.
    if (o.paramCount > tensors.length) return findings(r.error("OPTIMIZER_PARAMS_EXCEED_WEIGHTS", { params: o.paramCount, tensors: tensors.length }));
    if (o.momentShapes.length === 0) return { skip: "the optimizer holds no per-parameter moment tensors" };
    // Multiset match: every moment shape must consume one weight tensor of the same shape.
    const pool = new Map<string, number>();
    for (const [shape, n] of countByArray(tensors.map((t) => t.shape))) pool.set(key(shape), (pool.get(key(shape)) ?? 0) + n);
    const unmatched: string[] = [];
    // In the states' order (the message names the unmatched shapes in the order first met).
    for (const m of o.momentShapes) {
      const k = key(m.shape);
      const n = pool.get(k) ?? 0;
      if (n > 0) pool.set(k, n - 1);
      else unmatched.push(`[${m.shape.join(", ")}]`);
    }
    if (unmatched.length > 0) {
      const shapes = [...new Set(unmatched)].slice(0, 5).join(" ");
      return findings(r.error("OPTIMIZER_SHAPE_MISMATCH", { shapes, count: unmatched.length }));
    }
    return findings(r.pass("OPTIMIZER_MATCHES_WEIGHTS", { states: o.momentShapes.length, tensors: tensors.length }));
  },
});

/**
 * How many times each array occurs, in first-seen order. Readers share one array among tensors of
 * one shape (a mixture-of-experts model has tens of thousands of tensors and a handful of arrays),
 * so the shapes are counted by identity first and turned into keys once per array.
 */
function countByArray(shapes: number[][]): Map<number[], number> {
  const out = new Map<number[], number>();
  for (const s of shapes) out.set(s, (out.get(s) ?? 0) + 1);
  return out;
}

/** Readers share one array among tensors of one shape: its key is made once per array, not once per tensor. */
const keys = new WeakMap<number[], string>();
let lastShape: number[] | undefined;
let lastKey = "";
const key = (shape: number[]): string => {
  if (shape === lastShape) return lastKey;
  let k = keys.get(shape);
  if (k === undefined) keys.set(shape, (k = shape.join("x")));
  lastShape = shape;
  return (lastKey = k);
};
