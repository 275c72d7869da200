import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture, runCli } from "../helpers.js";

const expected = (...parts: string[]) => JSON.parse(readFileSync(fixture("checkpoints", ...parts), "utf8")) as { latest: string };

describe("latest: what each framework's own resume would pick, when it passes", () => {
  it("torchtitan: the newest step-N with a complete .metadata (step-1500 died while writing it)", () => {
    const dir = fixture("checkpoints", "dcp", "torchtitan", "checkpoint");
    const run = runCli(["latest", dir]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${join(dir, expected("dcp", "torchtitan", "checkpoint.expected.json").latest)}\n`);
    assert.match(run.stderr, /step-1500: DCP_METADATA_MISSING/);
  });

  it("Accelerate automatic naming: the highest checkpoint_N that passes (checkpoint_2 has no RNG files)", () => {
    const dir = fixture("checkpoints", "accelerate", "project", "checkpoints");
    const run = runCli(["latest", dir]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${join(dir, expected("accelerate", "project", "checkpoints.expected.json").latest)}\n`);
    assert.match(run.stderr, /checkpoint_2: FILE_MISSING: random_states_0\.pkl/);
  });

  it("Megatron: the tracker's iteration, even with a newer complete one beside it; a failing one falls back and says why", () => {
    const root = mkdtempSync(join(tmpdir(), "vc-latest-mg-"));
    try {
      const save = join(root, "checkpoints");
      cpSync(fixture("checkpoints", "megatron", "ok-legacy-tp2-pp2", "checkpoints"), save, { recursive: true });
      assert.equal(runCli(["latest", save]).stdout, `${join(save, "iter_0001000")}\n`);
      writeFileSync(join(save, "latest_checkpointed_iteration.txt"), "500");
      const older = runCli(["latest", save]);
      assert.equal(older.stdout, `${join(save, "iter_0000500")}\n`);
      assert.equal(older.stderr, "");
      rmSync(join(save, "iter_0000500", "mp_rank_00_001"), { recursive: true });
      const fallback = runCli(["latest", save]);
      assert.equal(fallback.code, 0);
      assert.equal(fallback.stdout, `${join(save, "iter_0001000")}\n`);
      assert.match(fallback.stderr, /iter_0000500: MEGATRON_RANK_MISSING: .*latest_checkpointed_iteration\.txt names it/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
