import type { OptimizerView } from "../../layouts/types.js";

/** The optimizer's step count: the most common per-parameter value, and the outliers. */
export function optimizerSteps(o: OptimizerView): { steps?: number; disagree: { param: string; step: number }[]; withoutStep: number } {
  const counts = new Map<number, number>();
  let withoutStep = 0;
  for (const s of o.steps) {
    if (s.step === undefined) withoutStep++;
    else counts.set(s.step, (counts.get(s.step) ?? 0) + 1);
  }
  if (counts.size === 0) return { disagree: [], withoutStep };
  const [steps] = [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
  const disagree = o.steps.filter((s): s is { param: string; step: number } => s.step !== undefined && s.step !== steps);
  return { steps, disagree, withoutStep };
}

/** When `expected / actual` is close to an integer k >= 2, gradient accumulation of k explains the gap. */
export function accumulationHint(expected: number, actual: number, tolerance: number): { k: number; ratio: number } | undefined {
  if (actual <= 0 || expected <= actual) return undefined;
  const ratio = expected / actual;
  const k = Math.round(ratio);
  if (k < 2) return undefined;
  return Math.abs(Math.floor(expected / k) - actual) <= Math.max(tolerance, 1) ? { k, ratio: Number(ratio.toFixed(3)) } : undefined;
}
