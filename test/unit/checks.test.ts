import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { optimizerCheck } from "../../src/checks/optimizer.js";
import { metadataCheck } from "../../src/checks/metadata.js";
import { scalerCheck } from "../../src/checks/scaler.js";
import { schedulerCheck } from "../../src/checks/scheduler.js";
import { optimizerWeightsCheck } from "../../src/checks/optimizer-weights.js";
import { configCheck } from "../../src/checks/config.js";
import { accumulationHint } from "../../src/checks/helpers/steps.js";
import { renderMessage } from "../../src/findings/finding.js";
import { ctx, optimizer, progress, run, scaler as scalerView, weights as w } from "./normalised.js";

describe("optimizer check", () => {
  it("passes within tolerance with the seed's numbers", async () => {
    const out = await run(optimizerCheck, ctx({ progress: { state: "present", view: progress() }, optimizer: { state: "present", view: optimizer([2532, 2532]) } }));
    assert.equal(out.findings![0]!.code, "OPTIMIZER_STEPS_OK");
    assert.equal(renderMessage(out.findings![0]! as never), "optimizer steps 2532, expected 2540 = 2 epochs × 1270 batches + 0, diff 8 within tolerance 20");
  });
  it("warns beyond tolerance and suggests accumulation of 4", async () => {
    const out = await run(optimizerCheck, ctx({ progress: { state: "present", view: progress() }, optimizer: { state: "present", view: optimizer([635, 635]) } }));
    assert.deepEqual(out.findings!.map((f) => f.code), ["OPTIMIZER_STEP_MISMATCH", "OPTIMIZER_STEP_RATIO"]);
    assert.equal(out.findings![1]!.data["k"], 4);
  });
  it("says which parameters disagree", async () => {
    const out = await run(optimizerCheck, ctx({ progress: { state: "present", view: progress() }, optimizer: { state: "present", view: optimizer([2540, 2540, 12]) } }));
    assert.deepEqual(out.findings!.map((f) => f.code), ["OPTIMIZER_STEPS_DISAGREE", "OPTIMIZER_STEPS_OK"]);
    assert.match(String(out.findings![0]!.data["detail"]), /param 2 at 12/);
  });
  it("warns that plain SGD has no step count", async () => {
    const out = await run(optimizerCheck, ctx({ optimizer: { state: "present", view: optimizer([]) } }));
    assert.equal(out.findings![0]!.code, "OPTIMIZER_NO_STEP");
  });
  it("missing required optimizer is an error; unavailable is a skip", async () => {
    const missing = await run(optimizerCheck, ctx({ optimizer: { state: "missing", ref: { where: "optimizer.pt", required: true } } }));
    assert.deepEqual(missing.findings!.map((f) => [f.level, f.code]), [["error", "OPTIMIZER_STATE_MISSING"]]);
    const skip = await run(optimizerCheck, ctx({ optimizer: { state: "unavailable", reason: "why" } }));
    assert.equal(skip.skip, "why");
  });
});

describe("accumulation hint", () => {
  it("only for ratios near an integer >= 2", () => {
    assert.deepEqual(accumulationHint(2540, 635, 20), { k: 4, ratio: 4 });
    assert.equal(accumulationHint(2540, 2400, 20), undefined);
    assert.equal(accumulationHint(2540, 900, 20), undefined);
  });
});

describe("metadata check", () => {
  it("step beyond the epoch is an error, step at the end a warning", async () => {
    const beyond = await run(metadataCheck, ctx({ progress: { state: "present", view: progress({ stepInEpoch: 1300 }) } }));
    assert.deepEqual(beyond.findings!.map((f) => [f.level, f.code]), [["error", "STEP_BEYOND_EPOCH"]]);
    const end = await run(metadataCheck, ctx({ progress: { state: "present", view: progress({ stepInEpoch: 1270 }) } }));
    assert.deepEqual(end.findings!.map((f) => [f.level, f.code]), [["warn", "STEP_AT_EPOCH_END"]]);
  });
  it("metrics outside [0, 1] warn", async () => {
    const out = await run(metadataCheck, ctx({ progress: { state: "present", view: progress({ metrics: [{ key: "best_val_f1", value: 1.5 }] }) } }));
    assert.deepEqual(out.findings!.map((f) => f.code), ["PROGRESS_CONSISTENT", "METRIC_OUT_OF_RANGE"]);
  });
  it("folder name and log history against global_step", async () => {
    const out = await run(metadataCheck, ctx({ progress: { state: "present", view: progress({ globalStep: 500, folderStep: 600, logHistoryMaxStep: 700 }) } }));
    assert.deepEqual(out.findings!.map((f) => f.code), ["FOLDER_STEP_MISMATCH", "LOG_HISTORY_BEYOND"]);
  });
});

describe("scaler check", () => {
  const scaler = (scale: number | undefined, empty = false) => ctx({ scaler: { state: "present", view: scalerView(scale, empty) } });
  it("accepts a positive finite scale", async () => assert.equal((await run(scalerCheck, scaler(65536))).findings![0]!.code, "SCALER_OK"));
  it("rejects inf, 0 and NaN", async () => {
    for (const s of [Infinity, 0, NaN, -1]) assert.equal((await run(scalerCheck, scaler(s))).findings![0]!.code, "SCALER_SCALE_INVALID");
  });
  it("warns on an empty state", async () => assert.equal((await run(scalerCheck, scaler(undefined, true))).findings![0]!.code, "SCALER_STATE_EMPTY"));
});

describe("scheduler check", () => {
  const sched = (lastLr: number, lastEpoch: number, fields: [string, number][], lr = lastLr) =>
    ctx({
      optimizer: { state: "present", view: { ...optimizer([lastEpoch]), lr } },
      scheduler: { state: "present", view: { ref: { where: "s", required: false }, kind: "StepLR", lastEpoch, lastLr: [lastLr], baseLrs: [0.1], fields: new Map(fields) } },
    });
  it("StepLR closed form agrees", async () => {
    const out = await run(schedulerCheck, sched(0.1 * 0.5 ** 3, 30, [["step_size", 10], ["gamma", 0.5]]));
    assert.deepEqual(out.findings!.map((f) => f.code), ["SCHEDULER_STEPS_OK", "LR_AGREES", "LR_FORMULA_OK"]);
  });
  it("StepLR closed form disagrees; LR above base; LR mismatch", async () => {
    const out = await run(schedulerCheck, sched(0.2, 30, [["step_size", 10], ["gamma", 0.5]], 0.3));
    assert.deepEqual(out.findings!.map((f) => f.code), ["SCHEDULER_STEPS_OK", "LR_MISMATCH", "LR_ABOVE_BASE", "LR_FORMULA_MISMATCH"]);
  });
  it("LR below 1e-8 warns", async () => {
    const out = await run(schedulerCheck, sched(0, 30, []));
    assert.ok(out.findings!.some((f) => f.code === "LR_TOO_SMALL"));
  });
});

describe("optimizer-weights check", () => {
  it("matches shapes as multisets", async () => {
    const out = await run(optimizerWeightsCheck, ctx({ weights: w([[3, 4], [3], [2, 3], [2]]), optimizer: { state: "present", view: optimizer([1, 1, 1, 1], [[2], [3, 4], [3], [2, 3]]) } }));
    assert.equal(out.findings![0]!.code, "OPTIMIZER_MATCHES_WEIGHTS");
  });
  it("names shapes that belong to another model", async () => {
    const out = await run(optimizerWeightsCheck, ctx({ weights: w([[3, 4], [3]]), optimizer: { state: "present", view: optimizer([1, 1], [[5, 8], [3]]) } }));
    assert.equal(out.findings![0]!.code, "OPTIMIZER_SHAPE_MISMATCH");
    assert.equal(out.findings![0]!.data["shapes"], "[5, 8]");
  });
  it("more states than weights", async () => {
    const out = await run(optimizerWeightsCheck, ctx({ weights: w([[3]]), optimizer: { state: "present", view: optimizer([1, 1], [[3], [3]]) } }));
    assert.equal(out.findings![0]!.code, "OPTIMIZER_TOO_MANY_STATES");
  });
});

describe("config check", () => {
  const cfg = (text: string) => ctx({ config: { rel: "config.json", text } });
  it("object passes, invalid JSON and non-objects fail", async () => {
    assert.equal((await run(configCheck, cfg('{"a":1}'))).findings![0]!.code, "CONFIG_OK");
    assert.equal((await run(configCheck, cfg("{not json"))).findings![0]!.code, "CONFIG_INVALID");
    assert.equal((await run(configCheck, cfg("[1]"))).findings![0]!.code, "CONFIG_NOT_OBJECT");
  });
});
