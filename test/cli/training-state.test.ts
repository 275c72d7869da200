import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ReportSchema } from "../../src/verify/schema.js";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { fixture, runCli } from "../helpers.js";

/** Every training-state fixture: exit code by default and in strict mode, and the codes it must raise. */
const CASES: Record<string, { exit: 0 | 1; strict: 0 | 1; codes: string[] }> = {
  ok: { exit: 0, strict: 0, codes: [] },
  "ok-legacy-format": { exit: 0, strict: 0, codes: [] },
  "ok-pytorch-model-bin": { exit: 0, strict: 0, codes: [] },
  "ok-sharded": { exit: 0, strict: 0, codes: [] },
  "ok-grad-accum-recorded": { exit: 0, strict: 0, codes: [] },
  "ok-grad-accum-remainder": { exit: 0, strict: 0, codes: [] },
  "ok-metrics-at-bounds": { exit: 0, strict: 0, codes: [] },
  "warn-no-scaler": { exit: 0, strict: 1, codes: ["SCALER_STATE_MISSING"] },
  "warn-no-scheduler": { exit: 0, strict: 1, codes: ["SCHEDULER_STATE_MISSING"] },
  "warn-step-mismatch": { exit: 0, strict: 1, codes: ["OPTIMIZER_STEP_MISMATCH"] },
  "warn-grad-accum-unrecorded": { exit: 0, strict: 1, codes: ["OPTIMIZER_STEP_MISMATCH", "OPTIMIZER_STEP_RATIO"] },
  "warn-step-equals-total": { exit: 0, strict: 1, codes: ["STEP_AT_EPOCH_END"] },
  "warn-sgd-no-step": { exit: 0, strict: 1, codes: ["OPTIMIZER_NO_STEP"] },
  "warn-lr-end-of-schedule": { exit: 0, strict: 1, codes: ["LR_TOO_SMALL"] },
  "warn-metric-out-of-range": { exit: 0, strict: 1, codes: ["METRIC_OUT_OF_RANGE"] },
  "error-truncated-zip": { exit: 1, strict: 1, codes: ["STATE_UNREADABLE"] },
  "error-no-central-directory": { exit: 1, strict: 1, codes: ["STATE_UNREADABLE"] },
  "error-zero-byte": { exit: 1, strict: 1, codes: ["FILE_EMPTY"] },
  "error-config-not-json": { exit: 1, strict: 1, codes: ["CONFIG_INVALID"] },
  "error-missing-weights": { exit: 1, strict: 1, codes: ["WEIGHTS_MISSING"] },
  "error-truncated-safetensors": { exit: 1, strict: 1, codes: ["WEIGHTS_FILE_INVALID"] },
  "error-missing-shard": { exit: 1, strict: 1, codes: ["SHARD_MISSING"] },
  "error-missing-key": { exit: 1, strict: 1, codes: ["STATE_KEY_MISSING"] },
  "error-step-beyond-epoch": { exit: 1, strict: 1, codes: ["STEP_BEYOND_EPOCH"] },
  "error-hostile-pickle": { exit: 1, strict: 1, codes: ["GLOBAL_UNSAFE"] },
  "error-lfs-pointer": { exit: 1, strict: 1, codes: ["FILE_IS_LFS_POINTER"] },
  "error-html-weights": { exit: 1, strict: 1, codes: ["FILE_IS_HTML"] },
  "error-scaler-bad-scale": { exit: 1, strict: 1, codes: ["SCALER_SCALE_INVALID"] },
  "error-optimizer-other-model": { exit: 1, strict: 1, codes: ["OPTIMIZER_SHAPE_MISMATCH"] },
  "error-zeros-weights": { exit: 1, strict: 1, codes: ["FILE_ALL_ZEROS"] },
};

const dir = (name: string) => fixture("checkpoints", "training-state", name);
const problemCodes = (r: { checks: { findings: { level: string; code: string }[] }[] }) =>
  r.checks.flatMap((c) => c.findings).filter((f) => f.level !== "pass").map((f) => f.code);

describe("training-state fixtures, spawned CLI", () => {
  for (const [name, want] of Object.entries(CASES)) {
    it(`${name}: exit ${want.exit}, strict exit ${want.strict}, ${want.codes.join(", ") || "no problems"}`, () => {
      const run = runCli(["--checkpoint_path", dir(name), "--json"]);
      assert.equal(run.stderr, "");
      assert.equal(run.code, want.exit, run.stdout);
      const report = ReportSchema.parse(JSON.parse(run.stdout));
      const codes = problemCodes(report);
      for (const c of want.codes) assert.ok(codes.includes(c), `${name}: expected ${c} in ${codes.join(", ")}`);
      const problems = report.checks.flatMap((c) => c.findings).filter((f) => f.level === "warn" || f.level === "error");
      if (want.exit === 0 && want.strict === 0) assert.deepEqual(problems, [], `${name} should have no problems`);
      const strict = runCli(["--checkpoint_path", dir(name), "--strict", "--json"]);
      assert.equal(strict.code, want.strict);
      assert.equal(JSON.parse(strict.stdout).strict, true);
    });
  }
});

describe("training-state facts match what torch read back", () => {
  for (const name of ["ok", "ok-legacy-format", "ok-grad-accum-recorded", "warn-step-mismatch"]) {
    it(name, async () => {
      const expected = JSON.parse(readFileSync(`${dir(name)}.expected.json`, "utf8"));
      const report = await verifyCheckpoint(dir(name));
      assert.equal(report.facts.epoch, expected.epoch);
      assert.equal(report.facts.step, expected.step);
      assert.equal(report.facts.totalBatches, expected.total_batches);
      assert.equal(report.facts.optimizerSteps, expected.optimizer_steps[0]);
      assert.equal(report.facts.learningRate, expected.optimizer_lr);
      assert.equal(report.facts.schedulerLastEpoch, expected.scheduler.last_epoch);
      assert.equal(report.facts.gradientAccumulationSteps, expected.gradient_accumulation_steps ?? 1);
    });
  }
});

describe("the original pipeline's example", () => {
  it("ok: expected 2540 = 2 epochs × 1270 batches + 0; optimizer 2532; diff 8 within 20", async () => {
    const report = await verifyCheckpoint(dir("ok"));
    const opt = report.checks.find((c) => c.id === "optimizer")!;
    assert.equal(opt.status, "pass");
    assert.equal(opt.findings[0]!.message, "optimizer steps 2532, expected 2540 = 2 epochs × 1270 batches + 0, diff 8 within tolerance 20");
    assert.deepEqual(
      report.checks.slice(0, 5).map((c) => c.id),
      ["directory", "required-files", "training-state", "metadata", "optimizer"],
    );
  });

  it("gradient accumulation: the flag makes the unrecorded case pass", () => {
    const run = runCli([dir("warn-grad-accum-unrecorded"), "--gradient-accumulation-steps", "4", "--json", "--strict"]);
    assert.equal(run.code, 0, run.stdout);
    const hint = runCli([dir("warn-grad-accum-unrecorded"), "--json"]);
    const f = JSON.parse(hint.stdout).checks.find((c: { id: string }) => c.id === "optimizer").findings;
    assert.match(f.find((x: { code: string }) => x.code === "OPTIMIZER_STEP_RATIO").message, /gradient accumulation of 4/);
  });

  it("tolerance: a lower tolerance turns the ok case's diff of 8 into a warning", () => {
    const run = runCli([dir("ok"), "--tolerance", "5", "--json"]);
    assert.equal(run.code, 0);
    const codes = problemCodes(JSON.parse(run.stdout));
    assert.ok(codes.includes("OPTIMIZER_STEP_MISMATCH"));
  });
});
