import { describe, it } from "node:test";
import assert from "node:assert/strict";
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
/** Warnings and errors only, in report order. */
const problems = (r: { checks: { findings: { level: string; code: string }[] }[] }) =>
  r.checks.flatMap((c) => c.findings).filter((f) => f.level === "warn" || f.level === "error").map((f) => f.code);

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

  it("--tolerance at the ok case's diff of 8 passes; one below, the optimizer and the scheduler warn", () => {
    // ok: optimizer 2532, expected 2540, scheduler last_epoch 2540 (fixtures/README.md): both differ by 8.
    const at = runCli([dir("ok"), "--tolerance", "8", "--strict", "--json"]);
    assert.equal(at.code, 0, at.stdout);
    assert.deepEqual(problems(JSON.parse(at.stdout)), []);
    const below = runCli([dir("ok"), "--tolerance", "7", "--json"]);
    assert.equal(below.code, 0);
    assert.deepEqual(problems(JSON.parse(below.stdout)), ["OPTIMIZER_STEP_MISMATCH", "SCHEDULER_STEP_MISMATCH"]);
    assert.equal(runCli([dir("ok"), "--tolerance", "7", "--strict", "--quiet"]).code, 1);
  });

  it("expected steps round down: 2545 batches / 3 = 848, not 849, so --tolerance 0 passes", () => {
    const run = runCli([dir("ok-grad-accum-remainder"), "--tolerance", "0", "--strict", "--json"]);
    assert.equal(run.code, 0, run.stdout);
    const report = JSON.parse(run.stdout);
    assert.deepEqual([report.facts.expectedOptimizerSteps, report.facts.optimizerSteps], [848, 848]);
  });
});

describe("strict mode at the boundary", () => {
  const lastLine = (text: string) => text.trimEnd().split("\n").at(-1);
  it("exactly one warning: exit 0 by default, exit 1 with --strict", () => {
    const run = runCli([dir("warn-no-scaler"), "--json"]);
    assert.equal(run.code, 0);
    const report = JSON.parse(run.stdout);
    assert.deepEqual([report.summary.warnings, report.summary.errors, report.status, report.exitCode], [1, 0, "passed_with_warnings", 0]);
    assert.equal(lastLine(runCli([dir("warn-no-scaler")]).stdout), "⚠ PASSED WITH WARNINGS");
    const strict = runCli([dir("warn-no-scaler"), "--strict", "--json"]);
    assert.equal(strict.code, 1);
    assert.deepEqual([JSON.parse(strict.stdout).status, JSON.parse(strict.stdout).exitCode], ["failed", 1]);
    const text = runCli([dir("warn-no-scaler"), "--strict"]);
    assert.equal(text.code, 1);
    assert.equal(lastLine(text.stdout), "✖ FAILED (strict mode: warnings count as failures)");
  });
  it("no warning: exit 0 with --strict", () => {
    const run = runCli([dir("ok"), "--strict"]);
    assert.equal(run.code, 0);
    assert.equal(lastLine(run.stdout), "✔ PASSED");
  });
  it("exactly one error: exit 1 in both modes, and strict mode is not blamed", () => {
    const run = runCli([dir("error-scaler-bad-scale"), "--json"]);
    assert.equal(run.code, 1);
    assert.deepEqual([JSON.parse(run.stdout).summary.warnings, JSON.parse(run.stdout).summary.errors], [0, 1]);
    const text = runCli([dir("error-scaler-bad-scale"), "--strict"]);
    assert.equal(text.code, 1);
    assert.equal(lastLine(text.stdout), "✖ FAILED");
  });
});

describe("the training-state boundaries torch wrote", () => {
  it("step == total_batches warns, total_batches + 1 fails", () => {
    const at = JSON.parse(runCli([dir("warn-step-equals-total"), "--json"]).stdout);
    assert.deepEqual([at.facts.step, at.facts.totalBatches, problems(at)], [1270, 1270, ["STEP_AT_EPOCH_END"]]);
    const beyond = JSON.parse(runCli([dir("error-step-beyond-epoch"), "--json"]).stdout);
    assert.deepEqual([beyond.facts.step, beyond.facts.totalBatches], [1271, 1270]);
    assert.deepEqual(problems(beyond), ["STEP_BEYOND_EPOCH", "OPTIMIZER_STEP_MISMATCH"]);
  });
  it("metrics at exactly 1.0 and 0.0 are in range; 1.5 is not", () => {
    const bounds = JSON.parse(runCli([dir("ok-metrics-at-bounds"), "--json"]).stdout);
    const metadata = bounds.checks.find((c: { id: string }) => c.id === "metadata");
    assert.deepEqual(metadata.findings.map((f: { code: string; message: string }) => [f.code, f.message]).at(-1), ["METRICS_OK", "best_val_f1 1, best_val_acc 0 within [0, 1]"]);
    const out = JSON.parse(runCli([dir("warn-metric-out-of-range"), "--json"]).stdout);
    assert.deepEqual(problems(out), ["METRIC_OUT_OF_RANGE"]);
  });
  it("the scaler's scale: inf is an error that names it", () => {
    const run = JSON.parse(runCli([dir("error-scaler-bad-scale"), "--json"]).stdout);
    const f = run.checks.find((c: { id: string }) => c.id === "scaler").findings;
    assert.deepEqual(f.map((x: { level: string; code: string; data: unknown }) => [x.level, x.code, x.data]), [["error", "SCALER_SCALE_INVALID", { scale: "Infinity" }]]);
  });
});
