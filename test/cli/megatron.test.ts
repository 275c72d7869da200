import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReportSchema } from "../../src/verify/schema.js";
import { fixture, runCli } from "../helpers.js";

type Want = { exit: 0 | 1; strict: 0 | 1; codes: string[] };

function expectVerdict(path: string, want: Want): ReturnType<typeof ReportSchema.parse> {
  const run = runCli([path, "--json"]);
  assert.equal(run.stderr, "");
  assert.equal(run.code, want.exit, run.stdout);
  const report = ReportSchema.parse(JSON.parse(run.stdout));
  assert.equal(report.layout, "megatron");
  const problems = report.checks.flatMap((c) => c.findings).filter((f) => f.level === "warn" || f.level === "error");
  for (const c of want.codes) assert.ok(problems.some((f) => f.code === c), `expected ${c} in ${problems.map((f) => f.code).join(", ")}`);
  if (want.codes.length === 0) assert.deepEqual(problems, []);
  assert.equal(runCli([path, "--json", "--strict"]).code, want.strict);
  return report;
}

const save = (name: string) => fixture("checkpoints", "megatron", name, "checkpoints");
const truth = (name: string) => JSON.parse(readFileSync(fixture("checkpoints", "megatron", `${name}.expected.json`), "utf8")) as Record<string, unknown>;

/** Literal table: what each torch-written save must give (fixtures/README.md). */
const CASES: Record<string, Want> = {
  "ok-legacy-tp2-pp2": { exit: 0, strict: 0, codes: [] },
  "ok-legacy-tp2-fp32-optimizer": { exit: 0, strict: 0, codes: [] },
  "ok-torch-dist": { exit: 0, strict: 0, codes: [] },
  "error-tracker-names-missing-iteration": { exit: 1, strict: 1, codes: ["MEGATRON_ITERATION_MISSING"] },
  "error-tracker-missing": { exit: 1, strict: 1, codes: ["MEGATRON_TRACKER_MISSING"] },
  "error-tracker-invalid": { exit: 1, strict: 1, codes: ["MEGATRON_TRACKER_INVALID"] },
  "error-rank-dir-missing": { exit: 1, strict: 1, codes: ["MEGATRON_RANK_MISSING"] },
  "error-extra-rank-dirs": { exit: 1, strict: 1, codes: ["MEGATRON_RANK_EXTRA"] },
  "error-iteration-disagree": { exit: 1, strict: 1, codes: ["MEGATRON_ITERATION_MISMATCH"] },
  "error-distrib-optim-missing": { exit: 1, strict: 1, codes: ["FILE_MISSING"] },
  "warn-scheduler-ahead": { exit: 0, strict: 1, codes: ["MEGATRON_SCHEDULER_AHEAD"] },
  "warn-samples-mismatch": { exit: 0, strict: 1, codes: ["MEGATRON_SAMPLES_MISMATCH"] },
  "error-torch-dist-iteration": { exit: 1, strict: 1, codes: ["MEGATRON_ITERATION_MISMATCH"] },
  "error-torch-dist-no-metadata-json": { exit: 1, strict: 1, codes: ["MEGATRON_NOT_DISTRIBUTED"] },
  "error-torch-dist-rng-missing": { exit: 1, strict: 1, codes: ["MEGATRON_RNG_SHARDS"] },
};

describe("megatron fixtures (spawned CLI)", () => {
  for (const [name, want] of Object.entries(CASES)) {
    it(`${name}: exit ${want.exit}, strict ${want.strict} ${want.codes.join(", ")}`, () => {
      const report = expectVerdict(save(name), want);
      const t = truth(name);
      if (name.startsWith("ok")) {
        assert.equal(report.facts.globalStep, t["iteration"]);
        assert.equal(report.facts.worldSize, t["world_size"]);
        assert.equal(report.facts.tensorParallel, t["tp"]);
        if (t["pp"] !== undefined) assert.equal(report.facts.pipelineParallel, t["pp"]);
      }
    });
  }

  it("the text report says iteration, degrees and world size in one line", () => {
    const run = runCli([save("ok-legacy-tp2-pp2")]);
    assert.match(run.stdout, /megatron save in iter_0001000: tracker: iter_0001000; legacy torch format, 4 rank folder\(s\), tp 2 x pp 2 x dp 2 = 8 ranks, distributed optimizer/);
  });

  it("an iteration folder given directly is read with its name standing in for the tracker", () => {
    const report = expectVerdict(join(save("ok-legacy-tp2-pp2"), "iter_0000500"), { exit: 0, strict: 0, codes: [] });
    assert.equal(report.facts.globalStep, 500);
  });
});

async function withCopy(name: string, fn: (dir: string) => void): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "vc-megatron-"));
  const dir = join(root, "checkpoints");
  cpSync(save(name), dir, { recursive: true });
  try {
    fn(dir);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe("megatron: bad input gets a finding, exit 1, nothing read beyond limits", () => {
  it("a tracker holding 10 MB of garbage is not read, and says so", async () => {
    await withCopy("ok-legacy-tp2-pp2", (dir) => {
      writeFileSync(join(dir, "latest_checkpointed_iteration.txt"), Buffer.alloc(10 * 1024 * 1024, 0x41));
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 1);
      const f = JSON.parse(run.stdout).checks.flatMap((c: { findings: { code: string; message: string }[] }) => c.findings).find((x: { code: string }) => x.code === "MEGATRON_TRACKER_INVALID");
      assert.match(f.message, /10485760 bytes, over the 4096-byte limit/);
    });
  });
  it("a rank folder whose number overflows is an extra rank folder", async () => {
    await withCopy("ok-legacy-tp2-pp2", (dir) => {
      const it = join(dir, "iter_0001000");
      renameSync(join(it, "mp_rank_01_001"), join(it, "mp_rank_99999999999999999999_001"));
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 1);
      const codes = JSON.parse(run.stdout).checks.flatMap((c: { findings: { code: string }[] }) => c.findings.map((f) => f.code));
      assert.ok(codes.includes("MEGATRON_RANK_EXTRA") && codes.includes("MEGATRON_RANK_MISSING"), codes.join(", "));
    });
  });
  it("release: the tracker's `release` names the release folder", async () => {
    await withCopy("ok-legacy-tp2-pp2", (dir) => {
      renameSync(join(dir, "iter_0001000"), join(dir, "release"));
      writeFileSync(join(dir, "latest_checkpointed_iteration.txt"), "release\n");
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 0, run.stdout);
      assert.match(JSON.parse(run.stdout).checks.find((c: { id: string }) => c.id === "ranks").findings[0].message, /tracker: release/);
    });
  });
  it("torch_dist: no common state, and a rank's (empty) file gone, are errors", async () => {
    await withCopy("ok-torch-dist", (dir) => {
      rmSync(join(dir, "iter_0002000", "__3_0.distcp"));
      const fewer = JSON.parse(runCli([dir, "--json"]).stdout).checks.flatMap((c: { findings: { code: string }[] }) => c.findings.map((f) => f.code));
      assert.ok(fewer.includes("MEGATRON_WORLD_SIZE_MISMATCH"), fewer.join(", "));
      rmSync(join(dir, "iter_0002000", "common.pt"));
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 1);
      assert.ok(JSON.parse(run.stdout).checks.flatMap((c: { findings: { code: string }[] }) => c.findings).some((f: { code: string }) => f.code === "MEGATRON_COMMON_MISSING"));
    });
  });
  it("an iteration folder with nothing in it is an error", async () => {
    await withCopy("ok-legacy-tp2-pp2", (dir) => {
      mkdirSync(join(dir, "iter_0002000"));
      writeFileSync(join(dir, "latest_checkpointed_iteration.txt"), "2000");
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 1);
    });
  });
});
