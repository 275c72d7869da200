import type { OptimizerView } from "../../layouts/types.js";

type StepSummary = { steps?: number; disagree: { param: string; step: number }[]; withoutStep: number };

/** Three checks ask; a mixture-of-experts optimizer has tens of thousands of parameter states: counted once per view. */
const summaries = new WeakMap<OptimizerView, StepSummary>();

/** The optimizer's step count: the most common per-parameter value, and the outliers. */
export function optimizerSteps(o: OptimizerView): StepSummary {
  let summary = summaries.get(o);
  if (!summary) summaries.set(o, (summary = countSteps(o)));
  return summary;
}

function countSteps(o: OptimizerView): StepSummary {
  const counts = new Map<number, number>();
  let withoutStep = 0;
  // Runs of one value (every state agreeing, the usual case) are counted without a Map lookup each.
  let run: number | undefined;
  let runLength = 0;
  const flush = () => {
    if (run !== undefined) counts.set(run, (counts.get(run) ?? 0) + runLength);
  };
  for (const s of o.steps) {
    if (s.step === undefined) withoutStep++;
    else if (s.step === run || (s.step !== s.step && run !== run)) runLength++; // SameValueZero, as the Map compares keys
    else {
      flush();
      run = s.step;
      runLength = 1;
    }
  }
  flush();
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
