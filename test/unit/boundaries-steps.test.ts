// Every verdict boundary of the step counts and the learning rate, with a case on each side. Expected
// values are literal tables written from the contract (../shared/contract.md)
// and the README, never computed by the functions under test.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { optimizerCheck } from "../../src/checks/optimizer.js";
import { schedulerCheck } from "../../src/checks/scheduler.js";
import { accumulationHint, optimizerSteps } from "../../src/checks/helpers/steps.js";
import type { Progress } from "../../src/layouts/types.js";
import { ctx, levelsAndCodes, optimizer, present, progress, run, scheduler } from "./normalised.js";


describe("optimizer steps against the expected 2540, within --tolerance", () => {
  // [optimizer steps, tolerance, expected level and code, diff]
  const table: [number, number, string, string, number][] = [
    [2520, 20, "pass", "OPTIMIZER_STEPS_OK", 20], // behind by exactly the tolerance
    [2519, 20, "warn", "OPTIMIZER_STEP_MISMATCH", 21], // one more
    [2560, 20, "pass", "OPTIMIZER_STEPS_OK", 20], // ahead by exactly the tolerance
    [2561, 20, "warn", "OPTIMIZER_STEP_MISMATCH", 21],
    [2540, 0, "pass", "OPTIMIZER_STEPS_OK", 0],
    [2539, 0, "warn", "OPTIMIZER_STEP_MISMATCH", 1],
    [2541, 0, "warn", "OPTIMIZER_STEP_MISMATCH", 1],
    [2532, 8, "pass", "OPTIMIZER_STEPS_OK", 8], // the original pipeline's example at its own diff
    [2532, 7, "warn", "OPTIMIZER_STEP_MISMATCH", 8],
  ];
  for (const [steps, tolerance, level, code, diff] of table) {
    it(`${steps} steps, tolerance ${tolerance}: ${code} (diff ${diff})`, async () => {
      const out = await run(optimizerCheck, ctx({ progress: present(progress({ gradAccumRecorded: true })), optimizer: present(optimizer([steps, steps])) }, { tolerance }));
      assert.deepEqual(out.findings!.map((f) => [f.level, f.code]), [[level, code]]);
      assert.deepEqual(out.findings![0]!.data, { optimizerSteps: steps, expected: 2540, formula: "2 epochs × 1270 batches + 0", diff, tolerance });
    });
  }
});

describe("the gradient-accumulation hint (expected / optimizer steps close to an integer k >= 2)", () => {
  // [expected, optimizer steps, tolerance, hint]: the hint fires when ⌊expected / k⌋ is within max(tolerance, 1) of the optimizer.
  const table: [number, number, number, { k: number; ratio: number } | undefined][] = [
    [2540, 1270, 20, { k: 2, ratio: 2 }],
    [2540, 1290, 20, { k: 2, ratio: 1.969 }], // ⌊2540/2⌋ = 1270, 20 away: at the tolerance
    [2540, 1291, 20, undefined], // 21 away
    [2540, 1250, 20, { k: 2, ratio: 2.032 }], // 20 away on the other side
    [2540, 1249, 20, undefined],
    [2540, 846, 20, { k: 3, ratio: 3.002 }], // ⌊2540/3⌋ = 846
    [2540, 850, 20, { k: 3, ratio: 2.988 }], // a ratio just below 3 still rounds to 3
    [2540, 635, 20, { k: 4, ratio: 4 }],
    [2541, 1270, 0, { k: 2, ratio: 2.001 }], // tolerance 0: still one step of slack
    [2540, 1269, 0, { k: 2, ratio: 2.002 }], // 1 away with tolerance 0
    [2540, 1268, 0, undefined], // 2 away
    [2540, 2530, 20, undefined], // ratio 1.004: k = 1 is no accumulation, even within the tolerance
    [2540, 1700, 20, undefined], // ratio 1.494 rounds to 1: no accumulation explains it
    [2540, 1693, 20, undefined], // ratio 1.500 rounds to 2 but ⌊2540/2⌋ is 423 away
    [2540, 2400, 20, undefined],
    [2540, 2540, 20, undefined], // no gap
    [2540, 2541, 20, undefined], // the optimizer is ahead
    [2540, 5080, 20, undefined],
    [2540, 0, 20, undefined], // no steps taken: no ratio
    [2540, -1, 20, undefined],
  ];
  for (const [expected, actual, tolerance, hint] of table) {
    it(`${expected} / ${actual}, tolerance ${tolerance}: ${hint ? `k = ${hint.k}` : "no hint"}`, () => {
      assert.deepEqual(accumulationHint(expected, actual, tolerance), hint);
    });
  }

  const mismatch = (steps: number, over: Partial<Progress> = {}, options = {}) =>
    levelsAndCodes(optimizerCheck, ctx({ progress: present(progress(over)), optimizer: present(optimizer([steps])) }, options));
  it("k = 2 and k = 3 reach the report, with k and the ratio", async () => {
    for (const [steps, k, ratio] of [[1270, 2, 2], [846, 3, 3.002]] as const) {
      const out = await run(optimizerCheck, ctx({ progress: present(progress()), optimizer: present(optimizer([steps])) }));
      assert.deepEqual(out.findings!.map((f) => [f.level, f.code]), [["warn", "OPTIMIZER_STEP_MISMATCH"], ["info", "OPTIMIZER_STEP_RATIO"]]);
      assert.deepEqual(out.findings![1]!.data, { k, ratio });
    }
  });
  it("not when the checkpoint records its accumulation", async () => {
    assert.deepEqual(await mismatch(1270, { gradAccumRecorded: true }), [["warn", "OPTIMIZER_STEP_MISMATCH"]]);
  });
  it("not when --gradient-accumulation-steps was given", async () => {
    assert.deepEqual(await mismatch(1270, {}, { gradientAccumulationSteps: 1 }), [["warn", "OPTIMIZER_STEP_MISMATCH"]]);
  });
  it("not when the steps are within the tolerance", async () => {
    assert.deepEqual(await mismatch(2525), [["pass", "OPTIMIZER_STEPS_OK"]]);
  });
  it("not when no ratio explains the gap", async () => {
    assert.deepEqual(await mismatch(2400), [["warn", "OPTIMIZER_STEP_MISMATCH"]]);
  });
});

describe("optimizer check without a comparison to make", () => {
  it("no progress counters: the steps are information", async () => {
    const out = await run(optimizerCheck, ctx({ optimizer: present(optimizer([7, 7])) }));
    assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [["info", "NO_EXPECTED_STEPS", { optimizerSteps: 7 }]]);
  });
  it("progress without expected steps: the same", async () => {
    assert.deepEqual(await levelsAndCodes(optimizerCheck, ctx({ progress: present(progress({ expectedOptimizerSteps: undefined })), optimizer: present(optimizer([7])) })), [["info", "NO_EXPECTED_STEPS"]]);
  });
  it("no per-parameter state at all (plain SGD) names the optimizer", async () => {
    const out = await run(optimizerCheck, ctx({ optimizer: present(optimizer([], [], { className: "SGD" })) }));
    assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [["warn", "OPTIMIZER_NO_STEP", { detail: "SGD with no per-parameter state" }]]);
  });
  it("expected steps without a formula (a layout that reads them whole) show an empty formula", async () => {
    const out = await run(optimizerCheck, ctx({ progress: present(progress({ formula: undefined })), optimizer: present(optimizer([2540])) }));
    assert.deepEqual(out.findings![0]!.data, { optimizerSteps: 2540, expected: 2540, formula: "", diff: 0, tolerance: 20 });
  });
  it("no per-parameter state and no class name: 'optimizer'", async () => {
    const out = await run(optimizerCheck, ctx({ optimizer: present(optimizer([])) }));
    assert.deepEqual(out.findings![0]!.data, { detail: "optimizer with no per-parameter state" });
  });
  it("a tie between step values: the first parameter's value is the count", () => {
    assert.deepEqual(optimizerSteps(optimizer([5, 7])), { steps: 5, disagree: [{ param: "1", step: 7 }], withoutStep: 0 });
    assert.deepEqual(optimizerSteps(optimizer([7, 5, 5])), { steps: 5, disagree: [{ param: "0", step: 7 }], withoutStep: 0 });
    assert.deepEqual(optimizerSteps(optimizer([undefined])), { disagree: [], withoutStep: 1 });
  });
  it("per-parameter state without 'step' counts the states", async () => {
    const out = await run(optimizerCheck, ctx({ optimizer: present(optimizer([undefined, undefined])) }));
    assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [["warn", "OPTIMIZER_NO_STEP", { detail: "2 parameter state(s) without 'step'" }]]);
  });
  it("parameters that disagree: the most common step is the count, the others are named", async () => {
    const out = await run(optimizerCheck, ctx({ progress: present(progress()), optimizer: present(optimizer([12, 2540, 2540, undefined])) }));
    assert.deepEqual(out.findings!.map((f) => [f.level, f.code]), [["warn", "OPTIMIZER_STEPS_DISAGREE"], ["pass", "OPTIMIZER_STEPS_OK"]]);
    assert.deepEqual(out.findings![0]!.data, { detail: "2 at 2540, 1 differ (e.g. param 0 at 12)" });
  });
  it("a missing optimizer that the layout does not require is a warning; an invalid one an error", async () => {
    assert.deepEqual(await levelsAndCodes(optimizerCheck, ctx({ optimizer: { state: "missing", ref: { where: "o", required: false } } })), [["warn", "OPTIMIZER_STATE_MISSING"]]);
    const invalid = await run(optimizerCheck, ctx({ optimizer: { state: "invalid", ref: { where: "o", required: true }, reason: "not a dict" } }));
    assert.deepEqual(invalid.findings!.map((f) => [f.level, f.code, f.data]), [["error", "OPTIMIZER_STATE_INVALID", { where: "o", reason: "not a dict" }]]);
  });
});

describe("scheduler last_epoch against the optimizer steps, within --tolerance", () => {
  const sched = (lastEpoch: number, optimizerSteps: number | undefined, options = {}, over: Partial<Progress> = {}) =>
    ctx(
      {
        progress: present(progress(over)),
        optimizer: optimizerSteps === undefined ? { state: "unavailable", reason: "x" } : present(optimizer([optimizerSteps], [], { lr: undefined })),
        scheduler: present(scheduler({ lastEpoch })),
      },
      options,
    );
  // [last_epoch, optimizer steps, tolerance, expected code, diff]
  const table: [number, number, number, string, number][] = [
    [2560, 2540, 20, "SCHEDULER_STEPS_OK", 20],
    [2561, 2540, 20, "SCHEDULER_STEP_MISMATCH", 21],
    [2520, 2540, 20, "SCHEDULER_STEPS_OK", 20],
    [2519, 2540, 20, "SCHEDULER_STEP_MISMATCH", 21],
    [2540, 2540, 0, "SCHEDULER_STEPS_OK", 0],
    [2541, 2540, 0, "SCHEDULER_STEP_MISMATCH", 1],
    [2539, 2540, 0, "SCHEDULER_STEP_MISMATCH", 1],
    [2540, 2532, 8, "SCHEDULER_STEPS_OK", 8], // the original pipeline's example
    [2540, 2532, 7, "SCHEDULER_STEP_MISMATCH", 8],
  ];
  for (const [lastEpoch, steps, tolerance, code, diff] of table) {
    it(`last_epoch ${lastEpoch}, optimizer ${steps}, tolerance ${tolerance}: ${code}`, async () => {
      const out = await run(schedulerCheck, sched(lastEpoch, steps, { tolerance }));
      assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [
        [code.endsWith("OK") ? "pass" : "warn", code, { lastEpoch, against: "optimizer steps", steps, diff, tolerance }],
      ]);
    });
  }
  it("without an optimizer step count, against the expected steps", async () => {
    const out = await run(schedulerCheck, sched(2561, undefined));
    assert.deepEqual(out.findings![0]!.data, { lastEpoch: 2561, against: "expected steps", steps: 2540, diff: 21, tolerance: 20 });
    const sgd = await run(schedulerCheck, ctx({ progress: present(progress()), optimizer: present(optimizer([], [], { lr: undefined })), scheduler: present(scheduler({ lastEpoch: 2560 })) }));
    assert.deepEqual(sgd.findings!.map((f) => [f.code, f.data["against"]]), [["SCHEDULER_STEPS_OK", "expected steps"]]);
  });
  it("nothing to compare with: no step finding", async () => {
    const out = await run(schedulerCheck, sched(2540, undefined, {}, { expectedOptimizerSteps: undefined }));
    assert.deepEqual(out.findings, []);
  });
  // Lightning steps schedulers per epoch by default: last_epoch within one of the epoch counts epochs.
  const perEpoch: [number, string][] = [
    [3, "SCHEDULER_EPOCHS_OK"],
    [2, "SCHEDULER_EPOCHS_OK"],
    [4, "SCHEDULER_EPOCHS_OK"],
    [5, "SCHEDULER_STEP_MISMATCH"],
    [1, "SCHEDULER_STEP_MISMATCH"],
  ];
  for (const [lastEpoch, code] of perEpoch) {
    it(`a per-epoch scheduler at epoch 3 with last_epoch ${lastEpoch}: ${code}`, async () => {
      const out = await run(schedulerCheck, sched(lastEpoch, 2540, {}, { epoch: 3, schedulerMayStepPerEpoch: true }));
      assert.deepEqual(out.findings!.map((f) => f.code), [code]);
    });
  }
  it("a per-epoch match reports last_epoch and the epoch", async () => {
    const out = await run(schedulerCheck, sched(4, 2540, {}, { epoch: 3, schedulerMayStepPerEpoch: true }));
    assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [["pass", "SCHEDULER_EPOCHS_OK", { lastEpoch: 4, epoch: 3 }]]);
  });
  it("a scheduler without last_epoch makes no step comparison", async () => {
    const c = ctx({ progress: present(progress()), optimizer: present(optimizer([2540], [], { lr: undefined })), scheduler: present(scheduler({})) });
    assert.deepEqual((await run(schedulerCheck, c)).findings, []);
  });
  it("missing is a warning, invalid an error", async () => {
    assert.deepEqual(await levelsAndCodes(schedulerCheck, ctx({ scheduler: { state: "missing", ref: { where: "s", required: false } } })), [["warn", "SCHEDULER_STATE_MISSING"]]);
    assert.deepEqual(await levelsAndCodes(schedulerCheck, ctx({ scheduler: { state: "invalid", ref: { where: "s", required: false }, reason: "r" } })), [["error", "SCHEDULER_STATE_INVALID"]]);
  });
  it("a scheduler that may not step per epoch is compared with steps even at the epoch", async () => {
    const out = await run(schedulerCheck, sched(3, 2540, {}, { epoch: 3 }));
    assert.deepEqual(out.findings!.map((f) => f.code), ["SCHEDULER_STEP_MISMATCH"]);
  });
});

describe("the resume learning rate", () => {
  const lrCase = (lr: number | undefined, lastLr: number[], kind?: string, fields: [string, number][] = [], baseLrs = [0.1]) =>
    ctx({
      optimizer: present(optimizer([], [], { lr })),
      scheduler: present(scheduler({ kind, lastLr, baseLrs, fields: new Map(fields) })),
    });
  const codes = async (c: ReturnType<typeof lrCase>) => (await run(schedulerCheck, c)).findings!.map((f) => f.code);

  // [lr, LR_TOO_SMALL expected]: the threshold is 1e-8, exclusive.
  const small: [number, boolean][] = [
    [1e-8, false],
    [1.0000001e-8, false],
    [9.999999e-9, true],
    [0, true],
    [-1e-5, true],
  ];
  for (const [lr, warns] of small) {
    it(`optimizer lr ${lr}: ${warns ? "LR_TOO_SMALL" : "not too small"}`, async () => {
      const out = await run(schedulerCheck, lrCase(lr, [lr]));
      assert.deepEqual(out.findings!.map((f) => [f.code, f.data]), [["LR_AGREES", { lr }], ...(warns ? [["LR_TOO_SMALL", { lr }]] : [])]);
    });
  }
  it("without an optimizer lr, the scheduler's _last_lr is the resume lr", async () => {
    assert.deepEqual(await codes(lrCase(undefined, [5e-9])), ["LR_TOO_SMALL"]);
    assert.deepEqual(await codes(lrCase(undefined, [1e-8])), []);
  });

  // [lr, kind, fields, LR_ABOVE_BASE expected] with base 0.1; the margin is a relative 1e-6.
  const above: [number, string, [string, number][], boolean][] = [
    [0.1, "CosineAnnealingLR", [], false],
    [0.1 * (1 + 0.5e-6), "CosineAnnealingLR", [], false],
    [0.1 * (1 + 1e-6), "CosineAnnealingLR", [], false], // exactly at the margin
    [0.1 * (1 + 2e-6), "CosineAnnealingLR", [], true],
    [0.2, "CosineAnnealingWarmRestarts", [], true],
    [0.2, "PolynomialLR", [], true],
    [0.2, "StepLR", [["gamma", 0.5]], true],
    [0.2, "StepLR", [["gamma", 1]], true],
    [0.2, "StepLR", [["gamma", 2]], false], // gamma > 1 grows the LR
    [0.2, "ExponentialLR", [["gamma", 1.01]], false],
    [0.2, "MultiStepLR", [["gamma", 0.1]], true],
    [0.2, "LinearLR", [["start_factor", 0.5], ["end_factor", 1]], true],
    [0.2, "LinearLR", [["start_factor", 0.5], ["end_factor", 1.5]], false],
    [0.2, "LinearLR", [["start_factor", 1.5], ["end_factor", 1]], false],
    [0.2, "ConstantLR", [["factor", 0.5]], true],
    [0.2, "ConstantLR", [["factor", 2]], false],
    [0.2, "OneCycleLR", [], false], // warms up above its initial LR
    [0.2, "CyclicLR", [], false],
    [0.2, "LambdaLR", [], false], // any lambda
  ];
  for (const [lr, kind, fields, warns] of above) {
    it(`lr ${lr} against base 0.1, ${kind} ${fields.map((f) => f.join(" ")).join(", ")}: ${warns ? "LR_ABOVE_BASE" : "no warning"}`, async () => {
      const out = await run(schedulerCheck, lrCase(lr, [lr], kind, fields));
      const found = out.findings!.filter((f) => f.code === "LR_ABOVE_BASE");
      assert.deepEqual(found.map((f) => [f.level, f.data]), warns ? [["warn", { lr, baseLr: 0.1, kind }]] : []);
    });
  }
  it("no base LR or no kind: no comparison", async () => {
    assert.deepEqual(await codes(lrCase(0.2, [0.2], "CosineAnnealingLR", [], [])), ["LR_AGREES"]);
    assert.deepEqual(await codes(lrCase(0.2, [0.2], undefined)), ["LR_AGREES"]);
  });

  // [optimizer lr, _last_lr, agrees]: relative 1e-4.
  const agree: [number, number, boolean][] = [
    [1e-5, 1e-5, true],
    [1e-5 * (1 + 0.5e-4), 1e-5, true],
    [1e-5 * (1 + 2e-4), 1e-5, false],
    [1e-5, 1e-5 * (1 + 2e-4), false],
    [2e-5, 1e-5, false],
  ];
  for (const [lr, lastLr, agrees] of agree) {
    it(`optimizer lr ${lr}, _last_lr ${lastLr}: ${agrees ? "LR_AGREES" : "LR_MISMATCH"}`, async () => {
      const out = await run(schedulerCheck, lrCase(lr, [lastLr]));
      assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [agrees ? ["pass", "LR_AGREES", { lr }] : ["warn", "LR_MISMATCH", { lr, lastLr }]]);
    });
  }
  it("no _last_lr: nothing to agree with", async () => {
    assert.deepEqual(await codes(lrCase(1e-5, [])), []);
  });
});

describe("the scheduler's closed form at last_epoch against _last_lr", () => {
  // StepLR(step_size 10, gamma 0.5) from base 0.1 at last_epoch 30: 0.1 × 0.5³ = 0.0125.
  const stepLr = (lastLr: number[], baseLrs = [0.1], lastEpoch = 30) =>
    ctx({ scheduler: present(scheduler({ kind: "StepLR", lastEpoch, lastLr, baseLrs, fields: new Map([["step_size", 10], ["gamma", 0.5]]) })) });
  it("agrees within a relative 1e-4", async () => {
    for (const lr of [0.0125, 0.0125 * (1 + 0.5e-4)]) {
      const out = await run(schedulerCheck, stepLr([lr]));
      assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [["pass", "LR_FORMULA_OK", { kind: "StepLR", lastEpoch: 30, computed: "0.0125", lastLr: lr }]]);
    }
  });
  it("disagrees beyond it, naming the first group that does", async () => {
    const out = await run(schedulerCheck, stepLr([0.0125, 0.0125 * (1 + 2e-4)], [0.1, 0.1]));
    assert.deepEqual(out.findings!.map((f) => [f.level, f.code, f.data]), [["warn", "LR_FORMULA_MISMATCH", { kind: "StepLR", lastEpoch: 30, computed: "0.0125", lastLr: 0.0125 * (1 + 2e-4) }]]);
  });
  it("a group count that differs from base_lrs: no comparison", async () => {
    assert.deepEqual((await run(schedulerCheck, stepLr([0.0125, 0.0125]))).findings, []);
  });
});
