import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { factsOf } from "../../src/verify/facts.js";
import { baseCheckpoint } from "../../src/layouts/common.js";
import type { NormalisedCheckpoint, ShardedSave } from "../../src/layouts/types.js";
import { optimizer, present, progress, scaler, scheduler, weights } from "./normalised.js";

const checkpoint = (over: Partial<NormalisedCheckpoint>): NormalisedCheckpoint => ({ ...baseCheckpoint("training-state", "p", "test"), ...over });
const sharded = (over: Partial<ShardedSave>): ShardedSave => ({ format: "deepspeed", rel: "", describe: "", findings: [], ...over });

describe("facts: what the tool read, absent when it does not apply", () => {
  it("nothing readable: no facts", () => {
    assert.deepEqual(factsOf(checkpoint({})), {});
  });

  it("the original pipeline's example", () => {
    const facts = factsOf(
      checkpoint({
        progress: present(progress({ globalStep: 2540 })),
        optimizer: present(optimizer([2532, 2532, 7], [], { lr: 1.8e-5, initialLr: 2e-5 })),
        scheduler: present(scheduler({ lastEpoch: 2540, lastLr: [1.7e-5], baseLrs: [3e-5] })),
        scaler: present(scaler(65536)),
        weights: { ...weights([[3, 4], [3]]), files: [...weights([[3, 4], [3]]).files, ...weights([[2]]).files] },
      }),
    );
    assert.deepEqual(facts, {
      epoch: 2,
      step: 0,
      totalBatches: 1270,
      gradientAccumulationSteps: 1,
      expectedOptimizerSteps: 2540,
      globalStep: 2540,
      stepsToSkip: 2540,
      optimizerSteps: 2532, // the most common per-parameter step
      learningRate: 1.8e-5, // the optimizer's, not the scheduler's
      initialLearningRate: 2e-5,
      schedulerLastEpoch: 2540,
      lossScale: 65536,
      weightTensors: 3, // summed over the files
    });
  });

  it("without an optimizer lr, the scheduler's _last_lr and base_lrs", () => {
    const facts = factsOf(checkpoint({ optimizer: present(optimizer([], [], { lr: undefined })), scheduler: present(scheduler({ lastEpoch: 5, lastLr: [1.7e-5, 9], baseLrs: [3e-5, 9] })) }));
    assert.deepEqual(facts, { learningRate: 1.7e-5, initialLearningRate: 3e-5, schedulerLastEpoch: 5 });
  });

  it("numbers that are not finite are left out (the schema holds numbers)", () => {
    assert.deepEqual(factsOf(checkpoint({ scaler: present(scaler(Infinity)) })), {});
    assert.deepEqual(factsOf(checkpoint({ scaler: present(scaler(NaN)) })), {});
    assert.deepEqual(factsOf(checkpoint({ scaler: present(scaler(-Infinity)) })), {});
    assert.deepEqual(factsOf(checkpoint({ scaler: present(scaler(0)) })), { lossScale: 0 });
  });

  it("a multi-rank save: the first save's parallelism, and its step when the layout read none", () => {
    const first = sharded({ worldSize: 8, dataParallel: 4, tensorParallel: 2, pipelineParallel: 1, zeroStage: 2, globalStep: 500 });
    assert.deepEqual(factsOf(checkpoint({ sharded: [first, sharded({ worldSize: 2 })] })), { worldSize: 8, dataParallel: 4, tensorParallel: 2, pipelineParallel: 1, zeroStage: 2, globalStep: 500 });
    const facts = factsOf(checkpoint({ progress: present(progress({ globalStep: 400 })), sharded: [first] }));
    assert.equal(facts.globalStep, 400, "the layout's own global_step wins");
  });

  it("weights with no file: no tensor count", () => {
    assert.deepEqual(factsOf(checkpoint({ weights: { ...weights([]), files: [] } })), {});
    assert.deepEqual(factsOf(checkpoint({ weights: weights([]) })), { weightTensors: 0 });
  });
});
