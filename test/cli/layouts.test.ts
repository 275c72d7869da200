import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReportSchema } from "../../src/verify/schema.js";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { fixture, HAS_REALWORLD, REALWORLD, runCli } from "../helpers.js";

type Want = { exit: 0 | 1; strict: 0 | 1; codes: string[] };

function expectVerdict(path: string, want: Want, layout: string): void {
  const run = runCli([path, "--json"]);
  assert.equal(run.stderr, "");
  assert.equal(run.code, want.exit, run.stdout);
  const report = ReportSchema.parse(JSON.parse(run.stdout));
  assert.equal(report.layout, layout);
  const problems = report.checks.flatMap((c) => c.findings).filter((f) => f.level === "warn" || f.level === "error");
  const codes = report.checks.flatMap((c) => c.findings).filter((f) => f.level !== "pass").map((f) => f.code);
  for (const c of want.codes) assert.ok(codes.includes(c), `expected ${c} in ${codes.join(", ")}`);
  if (want.codes.length === 0) assert.deepEqual(problems, []);
  assert.equal(runCli([path, "--json", "--strict"]).code, want.strict);
}

const HF: Record<string, Want> = {
  ok: { exit: 0, strict: 0, codes: [] },
  "ok-peft-adapter": { exit: 0, strict: 0, codes: [] },
  "ok-sharded": { exit: 0, strict: 0, codes: [] },
  "ok-fp16-scaler": { exit: 0, strict: 0, codes: [] },
  "warn-folder-name-mismatch": { exit: 0, strict: 1, codes: ["FOLDER_STEP_MISMATCH"] },
  "warn-step-mismatch": { exit: 0, strict: 1, codes: ["OPTIMIZER_STEP_MISMATCH", "SCHEDULER_STEP_MISMATCH"] },
  "warn-fp16-no-scaler": { exit: 0, strict: 1, codes: ["SCALER_STATE_MISSING"] },
  "error-no-trainer-state": { exit: 1, strict: 1, codes: ["FILE_MISSING"] },
  "error-no-optimizer": { exit: 1, strict: 1, codes: ["FILE_MISSING"] },
  "error-no-scheduler": { exit: 1, strict: 1, codes: ["FILE_MISSING"] },
  "error-log-history-beyond": { exit: 1, strict: 1, codes: ["LOG_HISTORY_BEYOND"] },
  "error-hostile-training-args": { exit: 1, strict: 1, codes: ["GLOBAL_UNSAFE"] },
};

describe("hf-trainer fixtures", () => {
  for (const [name, want] of Object.entries(HF)) {
    const dir = fixture("checkpoints", "hf-trainer", "cases", name);
    const folder = join(dir, readdirSync(dir)[0]!);
    it(`${name}: exit ${want.exit}, strict ${want.strict} ${want.codes.join(", ")}`, () => expectVerdict(folder, want, "hf-trainer"));
  }
  it("facts: global_step, optimizer steps and scheduler last_epoch as torch read them", async () => {
    const expected = JSON.parse(readFileSync(fixture("checkpoints", "hf-trainer", "cases", "ok.expected.json"), "utf8"));
    const report = await verifyCheckpoint(fixture("checkpoints", "hf-trainer", "cases", "ok", "checkpoint-500"));
    assert.equal(report.facts.globalStep, expected.global_step);
    assert.equal(report.facts.optimizerSteps, expected.optimizer_steps[0]);
    assert.equal(report.facts.schedulerLastEpoch, expected.scheduler.last_epoch);
  });
  it("training_args.bin's transformers globals are information, not problems", async () => {
    const report = await verifyCheckpoint(fixture("checkpoints", "hf-trainer", "cases", "ok", "checkpoint-500"));
    const infos = report.checks.find((c) => c.id === "training-state")!.findings.filter((f) => f.code === "GLOBAL_HARMLESS").map((f) => f.data["global"]);
    assert.ok(infos.includes("transformers.training_args.TrainingArguments"), infos.join(", "));
    assert.ok(infos.includes("transformers.trainer_utils.IntervalStrategy"), infos.join(", "));
  });
  it("a killed save (no trainer_state.json, zero-byte optimizer.pt) fails and says so", () => {
    const run = runCli([fixture("checkpoints", "hf-trainer", "run", "checkpoint-1500"), "--json"]);
    assert.equal(run.code, 1);
    const codes = JSON.parse(run.stdout).checks.flatMap((c: { findings: { code: string }[] }) => c.findings.map((f) => f.code));
    assert.ok(codes.includes("FILE_MISSING") && codes.includes("FILE_EMPTY"), codes.join(", "));
  });
});

const LIGHTNING: Record<string, Want> = {
  ok: { exit: 0, strict: 0, codes: [] },
  "warn-step-mismatch": { exit: 0, strict: 1, codes: ["OPTIMIZER_STEP_MISMATCH"] },
  "error-weights-only": { exit: 1, strict: 1, codes: ["OPTIMIZER_STATE_MISSING", "SCHEDULER_STATE_MISSING"] },
  "error-truncated": { exit: 1, strict: 1, codes: ["STATE_UNREADABLE"] },
};

describe("lightning fixtures", () => {
  for (const [name, want] of Object.entries(LIGHTNING)) {
    it(`${name}.ckpt`, () => expectVerdict(fixture("checkpoints", "lightning", `${name}.ckpt`), want, "lightning"));
  }
  it("the fit loop's counters are the step count", async () => {
    const report = await verifyCheckpoint(fixture("checkpoints", "lightning", "ok.ckpt"));
    assert.equal(report.facts.globalStep, 400);
    assert.equal(report.facts.expectedOptimizerSteps, 400);
    assert.equal(report.facts.optimizerSteps, 400);
  });
});

describe("generic layout", () => {
  it("validates every file and warns that the layout was not recognised", () => {
    expectVerdict(fixture("checkpoints", "generic", "some-folder"), { exit: 0, strict: 1, codes: ["LAYOUT_UNRECOGNISED"] }, "generic");
  });
  it("an empty folder is an error: there is nothing to resume from", () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-empty-"));
    try {
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 1);
      assert.equal(JSON.parse(run.stdout).checks[0].findings.find((f: { level: string }) => f.level === "error").code, "NO_CHECKPOINT_FILES");
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it("--layout overrides detection", () => {
    const run = runCli([fixture("checkpoints", "generic", "some-folder"), "--layout", "training-state", "--json"]);
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout);
    assert.equal(report.layout, "training-state");
    assert.ok(report.checks[1].findings.some((f: { code: string }) => f.code === "FILE_MISSING"));
  });
});

describe("latest", () => {
  it("picks the newest checkpoint that passes and says why newer ones failed", () => {
    const run = runCli(["latest", fixture("checkpoints", "hf-trainer", "run")]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${fixture("checkpoints", "hf-trainer", "run", "checkpoint-1000")}\n`);
    assert.match(run.stderr, /checkpoint-1500: FILE_MISSING: trainer_state.json is missing/);
    assert.equal(run.stderr.trim().split("\n").length, 1);
  });
  it("exits 1 when nothing passes", () => {
    const run = runCli(["latest", fixture("checkpoints", "hf-trainer", "cases", "error-no-optimizer")]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /no checkpoint under .* passes/);
  });
});

describe("real Lightning checkpoints from other projects", { skip: !HAS_REALWORLD && "../shared/realworld is not present" }, () => {
  const cases: [string, number][] = [
    ["DeepONets-Lightning/material/saved_models/Burgers/DeepONet-Burgers-epoch=2968-val_loss=0.00.ckpt", 1160879],
    ["EyeTrackDiagError/weights/read_features_last.ckpt", 20400],
    ["MAFAT-Radar_Challenge/last.ckpt", 3],
  ];
  for (const [rel, globalStep] of cases) {
    it(rel, async () => {
      const report = await verifyCheckpoint(join(REALWORLD, rel));
      assert.equal(report.layout, "lightning");
      assert.equal(report.facts.globalStep, globalStep);
      assert.equal(report.exitCode, 0, JSON.stringify(report.checks.flatMap((c) => c.findings).filter((f) => f.level === "error")));
    });
  }
});

describe("latest: ordering", () => {
  it("reads the step number from the usual names, steps before epochs", async () => {
    const { stepOf } = await import("../../src/latest/latest.js");
    assert.deepEqual(
      ["checkpoint-1500", "epoch_7", "global_step1200", "epoch=3-step=400.ckpt", "ckpt_9", "last.ckpt"].map(stepOf),
      [1500, 7, 1200, 400, 9, undefined],
    );
  });
});
