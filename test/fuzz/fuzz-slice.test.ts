/**
 * CI's slice of the fuzz campaign: 300 mutants of seed 20240229 (300
 * consecutive fixtures of the round robin; the full campaign covers them all),
 * 3 of them through the spawned CLI. The
 * full run is `npm run fuzz -- --seed 1 --count 100000` (docs/hostile-input.md).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fuzz } from "./campaign.js";
import { setTimeLimit } from "./runner.js";
import { hashFixtures } from "../hostile/build.js";

describe("fuzz slice", () => {
  it("300 mutants of seed 20240229: no exception, no exit 3, no stack trace, no hang (60 s each); fixtures unchanged", { timeout: 900_000 }, async () => {
    setTimeLimit(60_000);
    const before = hashFixtures();
    const lines: string[] = [];
    const s = await fuzz({ seed: 20240229, count: 300, spawnEvery: 100, progressEvery: 1000, sampleEvery: 100, outDir: "/tmp/verify-checkpoint-fuzz", log: (l) => lines.push(l) });
    assert.deepEqual(s.failures.map((f) => `${f.index} ${f.fixture}: ${f.desc}: ${f.failures.join("; ")}`), [], lines.join("\n"));
    assert.equal(s.spawned, 3);
    assert.equal(hashFixtures(), before, "a fixture file changed");
  });
});
