import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { renderJson } from "../../src/report/json.js";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { ReportSchema } from "../../src/verify/schema.js";

const fixture = (rel: string) => fileURLToPath(new URL(`../../../fixtures/checkpoints/${rel}`, import.meta.url));

// The JSON report is written as built, without a parse against the schema on the way out (it cost a
// sixth of a default run): these runs prove what the parse used to guarantee.
describe("--json writes the schema's fields, in the schema's order", () => {
  const cases = ["training-state/ok", "hf-trainer/run-complete", "lightning/ok.ckpt", "deepspeed/accelerate/ok", "dcp/torchtitan/checkpoint/step-1000", "training-state/error-hostile-pickle", "training-state/error-truncated-safetensors"];
  for (const rel of cases) {
    it(rel, async () => {
      const text = renderJson(await verifyCheckpoint(fixture(rel)));
      const report = JSON.parse(text) as Record<string, unknown>;
      // Nothing the schema would strip or refuse: parsing changes nothing, key order included.
      assert.equal(JSON.stringify(ReportSchema.parse(report), null, 2) + "\n", text);
      const top = ["schemaVersion", "tool", "checkpoint", "verifiedPath", "resolvedFrom", "layout", "strict", "status", "exitCode", "summary", "checks", "facts", "shard"];
      assert.deepEqual(Object.keys(report), top.filter((k) => k in report));
      const facts = ["epoch", "step", "totalBatches", "gradientAccumulationSteps", "optimizerSteps", "expectedOptimizerSteps", "learningRate", "initialLearningRate", "schedulerLastEpoch", "lossScale", "globalStep", "stepsToSkip", "weightTensors", "worldSize", "dataParallel", "tensorParallel", "pipelineParallel", "zeroStage", "maxSteps"];
      const got = Object.keys(report["facts"] as object);
      assert.deepEqual(got, facts.filter((k) => got.includes(k)));
    });
  }
});
