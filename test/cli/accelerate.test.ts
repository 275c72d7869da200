import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReportSchema } from "../../src/verify/schema.js";
import { fixture, runCli } from "../helpers.js";

type Want = { exit: 0 | 1; strict: 0 | 1; codes: string[] };

const caseDir = (name: string) => {
  const dir = fixture("checkpoints", "accelerate", "cases", name);
  return join(dir, readdirSync(dir)[0]!);
};
const truth = (name: string) => JSON.parse(readFileSync(fixture("checkpoints", "accelerate", "cases", `${name}.expected.json`), "utf8")) as Record<string, unknown>;

/** Literal table: what each torch-written save_state folder must give (fixtures/README.md). */
const CASES: Record<string, Want> = {
  "ok-ddp-2proc": { exit: 0, strict: 0, codes: [] },
  "ok-split-batches": { exit: 0, strict: 0, codes: [] },
  "ok-fsdp": { exit: 0, strict: 0, codes: [] },
  "error-rng-gap": { exit: 1, strict: 1, codes: ["ACCELERATE_RNG_MISSING"] },
  "error-rng-steps-disagree": { exit: 1, strict: 1, codes: ["ACCELERATE_RNG_STEPS_DISAGREE"] },
  "error-custom-gap": { exit: 1, strict: 1, codes: ["ACCELERATE_CUSTOM_MISSING"] },
  "error-scheduler-without-optimizer": { exit: 1, strict: 1, codes: ["ACCELERATE_OPTIMIZER_MISSING"] },
  "error-no-optimizer": { exit: 1, strict: 1, codes: ["FILE_MISSING"] },
  "error-rank-overflow": { exit: 1, strict: 1, codes: ["ACCELERATE_INDEX_INVALID"] },
  "warn-scheduler-mismatch": { exit: 0, strict: 1, codes: ["SCHEDULER_STEP_MISMATCH"] },
};

describe("accelerate fixtures (spawned CLI)", () => {
  for (const [name, want] of Object.entries(CASES)) {
    it(`${name}: exit ${want.exit}, strict ${want.strict} ${want.codes.join(", ")}`, () => {
      const path = caseDir(name);
      const run = runCli([path, "--json"]);
      assert.equal(run.stderr, "");
      assert.equal(run.code, want.exit, run.stdout);
      const report = ReportSchema.parse(JSON.parse(run.stdout));
      assert.equal(report.layout, "accelerate");
      const problems = report.checks.flatMap((c) => c.findings).filter((f) => f.level === "warn" || f.level === "error");
      for (const c of want.codes) assert.ok(problems.some((f) => f.code === c), `expected ${c} in ${problems.map((f) => f.code).join(", ")}`);
      if (want.codes.length === 0) assert.deepEqual(problems, []);
      assert.equal(runCli([path, "--json", "--strict"]).code, want.strict);
      const t = truth(name);
      assert.equal(report.facts.globalStep, t["global_step"]);
      if (name.startsWith("ok")) {
        assert.equal(report.facts.worldSize, t["processes"]);
        assert.equal(report.facts.schedulerLastEpoch, t["scheduler_last_epoch"]);
        assert.deepEqual([report.facts.optimizerSteps], t["optimizer_steps"]);
      }
    });
  }

  it("the scheduler is compared with the optimizer's steps times the processes when Accelerate stepped it per process", () => {
    const report = JSON.parse(runCli([caseDir("ok-ddp-2proc"), "--json"]).stdout);
    const f = report.checks.find((c: { id: string }) => c.id === "scheduler").findings.find((x: { code: string }) => x.code === "SCHEDULER_STEPS_OK");
    assert.equal(f.data.steps, 1000);
    assert.equal(f.data.lastEpoch, 1000);
  });

  it("a folder with optimizer.bin and random_states_N.pkl is Accelerate's, not a Trainer's", () => {
    const report = JSON.parse(runCli([caseDir("ok-ddp-2proc"), "--json"]).stdout);
    assert.match(report.checks[0].findings.find((f: { code: string }) => f.code === "LAYOUT_DETECTED").message, /Accelerate save_state files/);
  });

  it("an RNG file without Accelerate's keys is a warning naming them", () => {
    const root = mkdtempSync(join(tmpdir(), "vc-accelerate-"));
    try {
      const dir = join(root, "step_500");
      cpSync(caseDir("ok-ddp-2proc"), dir, { recursive: true });
      copyFileSync(join(dir, "scheduler.bin"), join(dir, "random_states_1.pkl"));
      const report = JSON.parse(runCli([dir, "--json"]).stdout);
      const f = report.checks.flatMap((c: { findings: { code: string; message: string }[] }) => c.findings).find((x: { code: string }) => x.code === "ACCELERATE_RNG_INCOMPLETE");
      assert.match(f.message, /random_states_1\.pkl lacks step, random_state, torch_manual_seed/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
