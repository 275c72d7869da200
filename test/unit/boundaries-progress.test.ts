// Every verdict boundary of the progress counters, metrics, scaler and optimizer-weights checks, with a case on each side. Expected
// values are literal tables written from the contract (../shared/contract.md)
// and the README, never computed by the functions under test.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { metadataCheck } from "../../src/checks/metadata.js";
import { scalerCheck } from "../../src/checks/scaler.js";
import { optimizerWeightsCheck } from "../../src/checks/optimizer-weights.js";
import type { Progress } from "../../src/layouts/types.js";
import { ctx, levelsAndCodes, optimizer, present, progress, run, scaler, weights } from "./normalised.js";

/** A number as a test name shows it: -0 is not 0 here. */
const show = (n: number | undefined) => (Object.is(n, -0) ? "-0" : String(n));

describe("step within the epoch against total_batches (1270)", () => {
  const table: [number, [string, string][]][] = [
    [0, [["pass", "PROGRESS_CONSISTENT"]]],
    [1269, [["pass", "PROGRESS_CONSISTENT"]]],
    [1270, [["warn", "STEP_AT_EPOCH_END"]]], // step == total_batches
    [1271, [["error", "STEP_BEYOND_EPOCH"]]], // total_batches + 1
  ];
  for (const [step, want] of table) {
    it(`step ${step}: ${want.map((w) => w[1]).join(", ")}`, async () => {
      assert.deepEqual(await levelsAndCodes(metadataCheck, ctx({ progress: present(progress({ stepInEpoch: step })) })), want);
    });
  }
  it("step == total_batches names the next epoch; an unknown epoch counts as 0", async () => {
    const at = await run(metadataCheck, ctx({ progress: present(progress({ stepInEpoch: 1270, epoch: 1 })) }));
    assert.deepEqual(at.findings![0]!.data, { step: 1270, totalBatches: 1270, epoch: 1, nextEpoch: 2 });
    const noEpoch = await run(metadataCheck, ctx({ progress: present(progress({ stepInEpoch: 1270, epoch: undefined })) }));
    assert.equal(noEpoch.findings![0]!.data["nextEpoch"], 1);
  });
  it("beyond the epoch reports the numbers", async () => {
    const out = await run(metadataCheck, ctx({ progress: present(progress({ stepInEpoch: 1271 })) }));
    assert.deepEqual(out.findings![0]!.data, { step: 1271, totalBatches: 1270, epoch: 2 });
  });
  it("a layout without a step in the epoch (hf-trainer) makes no comparison", async () => {
    assert.deepEqual(await levelsAndCodes(metadataCheck, ctx({ progress: present(progress({ stepInEpoch: undefined, batchesPerEpoch: undefined })) })), [["pass", "PROGRESS_CONSISTENT"]]);
    assert.deepEqual(await levelsAndCodes(metadataCheck, ctx({ progress: present(progress({ stepInEpoch: 1300, batchesPerEpoch: undefined })) })), [["pass", "PROGRESS_CONSISTENT"]]);
  });
  it("no counters: a skip that says why", async () => {
    assert.deepEqual(await run(metadataCheck, ctx({ progress: { state: "unavailable", reason: "state unreadable" } })), { skip: "state unreadable" });
    assert.deepEqual(await run(metadataCheck, ctx({ progress: { state: "missing", ref: { where: "x", required: true } } })), { skip: "no progress counters" });
  });
});

describe("metrics in [0, 1]", () => {
  const table: [number, boolean][] = [
    [0, true],
    [1, true],
    [0.5, true],
    [-0, true],
    [-1e-9, false],
    [-Number.MIN_VALUE, false],
    [1 + Number.EPSILON, false],
    [1.000001, false],
    [NaN, false],
    [Infinity, false],
    [-Infinity, false],
  ];
  for (const [value, inRange] of table) {
    it(`${show(value)}: ${inRange ? "in range" : "METRIC_OUT_OF_RANGE"}`, async () => {
      const out = await run(metadataCheck, ctx({ progress: present(progress({ metrics: [{ key: "best_val_f1", value }] })) }));
      const want: [string, string, Record<string, unknown>][] = inRange
        ? [["pass", "PROGRESS_CONSISTENT", { progress: "" }], ["pass", "METRICS_OK", { metrics: `best_val_f1 ${value}` }]]
        : [["pass", "PROGRESS_CONSISTENT", { progress: "" }], ["warn", "METRIC_OUT_OF_RANGE", { key: "best_val_f1", value }]];
      assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), want);
    });
  }
  it("one metric out of range: no METRICS_OK for the others", async () => {
    const metrics = [{ key: "best_val_f1", value: 0.5 }, { key: "best_val_acc", value: 1.5 }];
    assert.deepEqual(await levelsAndCodes(metadataCheck, ctx({ progress: present(progress({ metrics })) })), [["pass", "PROGRESS_CONSISTENT"], ["warn", "METRIC_OUT_OF_RANGE"]]);
  });
  it("both in range: one METRICS_OK listing them", async () => {
    const out = await run(metadataCheck, ctx({ progress: present(progress({ metrics: [{ key: "best_val_f1", value: 1 }, { key: "best_val_acc", value: 0 }] })) }));
    assert.deepEqual(out.findings![1]!.data, { metrics: "best_val_f1 1, best_val_acc 0" });
  });
});

describe("global_step against the folder name, log_history and Lightning's loop counter", () => {
  // [field, value against global_step 500, expected findings]
  const table: [keyof Progress, number, [string, string][]][] = [
    ["folderStep", 500, [["pass", "PROGRESS_CONSISTENT"]]],
    ["folderStep", 501, [["warn", "FOLDER_STEP_MISMATCH"]]],
    ["folderStep", 499, [["warn", "FOLDER_STEP_MISMATCH"]]],
    ["logHistoryMaxStep", 500, [["pass", "PROGRESS_CONSISTENT"]]],
    ["logHistoryMaxStep", 499, [["pass", "PROGRESS_CONSISTENT"]]], // logging may lag the save
    ["logHistoryMaxStep", 501, [["error", "LOG_HISTORY_BEYOND"]]],
    ["loopOptimizerSteps", 500, [["pass", "PROGRESS_CONSISTENT"]]],
    ["loopOptimizerSteps", 499, [["warn", "LOOP_STEPS_MISMATCH"]]],
    ["loopOptimizerSteps", 501, [["warn", "LOOP_STEPS_MISMATCH"]]],
  ];
  for (const [field, value, want] of table) {
    it(`${field} ${value}: ${want[0]![1]}`, async () => {
      const view = progress({ globalStep: 500, stepInEpoch: undefined, [field]: value });
      assert.deepEqual(await levelsAndCodes(metadataCheck, ctx({ progress: present(view) })), want);
    });
  }
  it("reports the numbers", async () => {
    const out = await run(metadataCheck, ctx({ progress: present(progress({ globalStep: 500, folderStep: 600, folderName: "checkpoint-600", logHistoryMaxStep: 700, loopOptimizerSteps: 400 })) }));
    assert.deepEqual(out.findings!.map((f) => f.data), [
      { folderStep: 600, globalStep: 500, folder: "checkpoint-600" },
      { logStep: 700, globalStep: 500 },
      { globalStep: 500, loopSteps: 400 },
    ]);
  });
  it("without global_step there is nothing to compare them with", async () => {
    const view = progress({ folderStep: 600, logHistoryMaxStep: 700, loopOptimizerSteps: 400 });
    assert.deepEqual(await levelsAndCodes(metadataCheck, ctx({ progress: present(view) })), [["pass", "PROGRESS_CONSISTENT"]]);
  });
});

describe("AMP scaler scale: positive and finite", () => {
  const table: [number | undefined, string][] = [
    [65536, "SCALER_OK"],
    [1, "SCALER_OK"],
    [Number.MIN_VALUE, "SCALER_OK"],
    [Number.MAX_VALUE, "SCALER_OK"],
    [0, "SCALER_SCALE_INVALID"],
    [-0, "SCALER_SCALE_INVALID"],
    [-1, "SCALER_SCALE_INVALID"],
    [-Number.MIN_VALUE, "SCALER_SCALE_INVALID"],
    [NaN, "SCALER_SCALE_INVALID"],
    [Infinity, "SCALER_SCALE_INVALID"],
    [-Infinity, "SCALER_SCALE_INVALID"],
    [undefined, "SCALER_SCALE_INVALID"],
  ];
  for (const [scale, code] of table) {
    it(`scale ${show(scale)}: ${code}`, async () => {
      const out = await run(scalerCheck, ctx({ scaler: present(scaler(scale)) }));
      assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [code === "SCALER_OK" ? ["pass", code, { scale, tracker: 0 }] : ["error", code, { scale }]]);
    });
  }
  it("an empty state (a disabled scaler) is a warning that says where, whatever its scale", async () => {
    const out = await run(scalerCheck, ctx({ scaler: present(scaler(undefined, true)) }));
    assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [["warn", "SCALER_STATE_EMPTY", { where: "s" }]]);
  });
  it("an invalid state is an error", async () => {
    assert.deepEqual(await levelsAndCodes(scalerCheck, ctx({ scaler: { state: "invalid", ref: { where: "s", required: false }, reason: "r" } })), [["error", "SCALER_STATE_INVALID"]]);
  });
  it("missing: a warning unless the layout requires it (fp16 Trainer), then an error", async () => {
    assert.deepEqual(await levelsAndCodes(scalerCheck, ctx({ scaler: { state: "missing", ref: { where: "s", required: false } } })), [["warn", "SCALER_STATE_MISSING"]]);
    assert.deepEqual(await levelsAndCodes(scalerCheck, ctx({ scaler: { state: "missing", ref: { where: "s", required: true } } })), [["error", "SCALER_STATE_MISSING"]]);
  });
});

describe("optimizer states against weight tensors", () => {
  const check = (states: number, tensors: number) =>
    levelsAndCodes(optimizerWeightsCheck, ctx({ weights: weights(Array.from({ length: tensors }, () => [3])), optimizer: present(optimizer(Array(states).fill(1), Array.from({ length: states }, () => [3]))) }));
  it("as many states as tensors: matches", async () => {
    const out = await run(optimizerWeightsCheck, ctx({ weights: weights([[3], [3]]), optimizer: present(optimizer([1, 1], [[3], [3]])) }));
    assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [["pass", "OPTIMIZER_MATCHES_WEIGHTS", { states: 2, tensors: 2 }]]);
    assert.deepEqual(await check(4, 4), [["pass", "OPTIMIZER_MATCHES_WEIGHTS"]]);
  });
  it("one state more than tensors: another model's optimizer", async () => {
    assert.deepEqual(await check(5, 4), [["error", "OPTIMIZER_TOO_MANY_STATES"]]);
    const out = await run(optimizerWeightsCheck, ctx({ weights: weights([[3]]), optimizer: present(optimizer([1, 1], [[3], [3]])) }));
    assert.deepEqual(out.findings![0]!.data, { states: 2, tensors: 1 });
  });
  it("shapes are compared whole: [12] is not [1, 2]", async () => {
    const out = await run(optimizerWeightsCheck, ctx({ weights: weights([[12]]), optimizer: present(optimizer([1], [[1, 2]])) }));
    assert.deepEqual(out.findings!.map((f) => [f.code, f.data]), [["OPTIMIZER_SHAPE_MISMATCH", { shapes: "[1, 2]", count: 1 }]]);
  });
  it("names at most five distinct shapes, and counts them all", async () => {
    const moments = [[11], [12], [13], [14], [15], [16], [16]];
    const out = await run(optimizerWeightsCheck, ctx({ weights: weights(moments.map(() => [3])), optimizer: present(optimizer(moments.map(() => 1), moments)) }));
    assert.deepEqual(out.findings![0]!.data, { shapes: "[11] [12] [13] [14] [15]", count: 7 });
  });
  it("fewer states (frozen parameters): matches", async () => assert.deepEqual(await check(3, 4), [["pass", "OPTIMIZER_MATCHES_WEIGHTS"]]));
  it("a shape used twice needs two tensors of that shape", async () => {
    const out = await run(optimizerWeightsCheck, ctx({ weights: weights([[3], [4]]), optimizer: present(optimizer([1, 1], [[3], [3]])) }));
    assert.deepEqual(out.findings!.map((f) => [f.code, f.data]), [["OPTIMIZER_SHAPE_MISMATCH", { shapes: "[3]", count: 1 }]]);
  });
  it("skips without weights, or with a weights file that could not be read", async () => {
    const opt = present(optimizer([1], [[3]]));
    const skip = { skip: "the weights are not all readable" };
    assert.deepEqual(await run(optimizerWeightsCheck, ctx({ weights: undefined, optimizer: opt })), skip);
    assert.deepEqual(await run(optimizerWeightsCheck, ctx({ weights: { ...weights([]), files: [] }, optimizer: opt })), skip);
    const two = weights([[3]]);
    two.files.push({ ...two.files[0]!, rel: "n", problem: { code: "WEIGHTS_FILE_INVALID", data: {} } });
    assert.deepEqual(await run(optimizerWeightsCheck, ctx({ weights: two, optimizer: opt })), skip);
    assert.deepEqual(await run(optimizerWeightsCheck, ctx({ weights: weights([[3]]), optimizer: { state: "unavailable", reason: "x" } })), { skip: "no readable optimizer state" });
  });
  it("skips when the weights are not all readable, or the optimizer has no moments", async () => {
    const bad = weights([[3]]);
    bad.files[0]!.problem = { code: "WEIGHTS_FILE_INVALID", data: {} };
    assert.deepEqual(await run(optimizerWeightsCheck, ctx({ weights: bad, optimizer: present(optimizer([1], [[3]])) })), { skip: "the weights are not all readable" });
    assert.deepEqual(await run(optimizerWeightsCheck, ctx({ weights: { ...weights([[3]]), missingShards: ["b"] }, optimizer: present(optimizer([1], [[3]])) })), { skip: "the weights are not all readable" });
    assert.deepEqual(await run(optimizerWeightsCheck, ctx({ weights: weights([[3]]), optimizer: present(optimizer([1])) })), { skip: "the optimizer holds no per-parameter moment tensors" });
  });
});
