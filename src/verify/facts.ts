import { optimizerSteps } from "../checks/helpers/steps.js";
import type { NormalisedCheckpoint } from "../layouts/types.js";
import { FactsSchema, type Facts } from "./schema.js";

/** The report lists facts in the schema's order, whatever order they were found in. */
const ORDER = Object.keys(FactsSchema.shape) as (keyof Facts)[];

/** What the tool read, so scripts need not open the checkpoint. Facts that do not apply are absent. */
export function factsOf(c: NormalisedCheckpoint): Facts {
  const f: Facts = {};
  const set = <K extends keyof Facts>(k: K, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) f[k] = v;
  };
  if (c.progress.state === "present") {
    const p = c.progress.view;
    set("epoch", p.epoch);
    set("step", p.stepInEpoch);
    set("totalBatches", p.batchesPerEpoch);
    set("gradientAccumulationSteps", p.gradAccum);
    set("expectedOptimizerSteps", p.expectedOptimizerSteps);
    set("globalStep", p.globalStep);
    set("stepsToSkip", p.stepsToSkip);
  }
  if (c.optimizer.state === "present") {
    set("optimizerSteps", optimizerSteps(c.optimizer.view).steps);
    set("learningRate", c.optimizer.view.lr);
    set("initialLearningRate", c.optimizer.view.initialLr);
  }
  if (c.scheduler.state === "present") {
    set("schedulerLastEpoch", c.scheduler.view.lastEpoch);
    if (f.learningRate === undefined) set("learningRate", c.scheduler.view.lastLr[0]);
    if (f.initialLearningRate === undefined) set("initialLearningRate", c.scheduler.view.baseLrs[0]);
  }
  if (c.scaler.state === "present") set("lossScale", c.scaler.view.scale);
  const sharded = c.sharded[0];
  if (sharded) {
    set("worldSize", sharded.worldSize);
    set("dataParallel", sharded.dataParallel);
    set("tensorParallel", sharded.tensorParallel);
    set("pipelineParallel", sharded.pipelineParallel);
    set("zeroStage", sharded.zeroStage);
    if (f.globalStep === undefined) set("globalStep", sharded.globalStep);
  }
  set("maxSteps", c.resume?.end?.maxSteps);
  // Ranks that saved: a multi-rank save says it above; otherwise the per-rank RNG files do.
  if (f.worldSize === undefined) set("worldSize", c.resume?.rng?.ranks);
  if (c.weights && c.weights.files.length > 0) set("weightTensors", c.weights.files.reduce((n, w) => n + w.tensors.length, 0));
  const ordered: Facts = {};
  for (const k of ORDER) if (f[k] !== undefined) ordered[k] = f[k];
  return ordered;
}
