// In-memory normalised checkpoints for check-level tests: each builder starts
// from the original pipeline's example (epoch 2, step 0, 1270 batches per
// epoch, expected 2540 optimizer steps) and takes the fields a test changes.
import { DEFAULT_OPTIONS, type VerifyOptions } from "../../src/core/options.js";
import type { Check, CheckContext } from "../../src/checks/define.js";
import { baseCheckpoint } from "../../src/layouts/common.js";
import type { NormalisedCheckpoint, OptimizerView, Progress, ScalerView, SchedulerView, WeightsView } from "../../src/layouts/types.js";
import type { PyValue } from "../../src/formats/pickle/values.js";

export const progress = (over: Partial<Progress> = {}): Progress => ({
  epoch: 2,
  stepInEpoch: 0,
  batchesPerEpoch: 1270,
  gradAccum: 1,
  gradAccumRecorded: false,
  expectedOptimizerSteps: 2540,
  formula: "2 epochs × 1270 batches + 0",
  stepsToSkip: 2540,
  metrics: [],
  describe: "",
  ...over,
});

export const optimizer = (steps: (number | undefined)[], shapes: number[][] = [], over: Partial<OptimizerView> = {}): OptimizerView => ({
  ref: { where: "x", required: true },
  steps: steps.map((step, i) => ({ param: String(i), step })),
  stateCount: steps.length,
  paramCount: steps.length,
  lr: 1e-5,
  hyper: new Map(),
  momentShapes: shapes.map((shape, i) => ({ param: String(i), shape })),
  ...over,
});

export const scheduler = (over: Partial<SchedulerView> & { fields?: Map<string, PyValue> } = {}): SchedulerView => ({
  ref: { where: "s", required: false },
  lastLr: [],
  baseLrs: [],
  fields: new Map(),
  ...over,
});

export const scaler = (scale: number | undefined, empty = false): ScalerView => ({ ref: { where: "s", required: false }, empty, scale, growthTracker: 0 });

/** One safetensors weights file holding a tensor per shape. */
export const weights = (shapes: number[][]): WeightsView => ({
  candidates: [],
  unusable: [],
  missingShards: [],
  files: [{ rel: "m", kind: "safetensors", size: 1, verdicts: [], torchProblems: [], tensors: shapes.map((shape, i) => ({ name: `t${i}`, dtype: "float32", shape })) }],
});

export const present = <T>(view: T) => ({ state: "present" as const, view });

export function ctx(over: Partial<NormalisedCheckpoint>, options: Partial<VerifyOptions> = {}): CheckContext {
  return { path: "p", options: { ...DEFAULT_OPTIONS, ...options }, checkpoint: { ...baseCheckpoint("training-state", "p", "test"), ...over } };
}

export interface Outcome {
  findings?: { level: string; code: string; data: Record<string, unknown> }[];
  skip?: string;
}

export async function run(check: Pick<Check, "run">, c: CheckContext): Promise<Outcome> {
  return (await check.run(c)) as Outcome;
}

/** [level, code] of every finding, the shape most expectations are written in. */
export async function levelsAndCodes(check: Pick<Check, "run">, c: CheckContext): Promise<[string, string][]> {
  const out = await run(check, c);
  if (out.skip !== undefined) return [["skip", out.skip]];
  return out.findings!.map((f) => [f.level, f.code]);
}
