// Running one check on a hand-built NormalisedCheckpoint, as the mutation-test files do.
import assert from "node:assert/strict";
import type { Check } from "../../src/checks/define.js";
import { DEFAULT_OPTIONS, type VerifyOptions } from "../../src/core/options.js";
import type { Finding } from "../../src/findings/finding.js";
import type { NormalisedCheckpoint } from "../../src/layouts/types.js";

export type Outcome = { findings: Finding[] } | { skip: string };

export async function outcome(check: Check, c: NormalisedCheckpoint, options: Partial<VerifyOptions> = {}, path = "ckpt"): Promise<Outcome> {
  return await check.run({ path, options: { ...DEFAULT_OPTIONS, ...options }, checkpoint: c });
}

/** The findings; fails the test when the check skipped. */
export async function found(check: Check, c: NormalisedCheckpoint, options: Partial<VerifyOptions> = {}): Promise<Finding[]> {
  const out = await outcome(check, c, options);
  assert.ok("findings" in out, `skipped: ${"skip" in out ? out.skip : ""}`);
  return out.findings;
}

/** `level CODE` per finding, or `skip: reason`. */
export async function codes(check: Check, c: NormalisedCheckpoint, options: Partial<VerifyOptions> = {}): Promise<string[]> {
  const out = await outcome(check, c, options);
  return "skip" in out ? [`skip: ${out.skip}`] : out.findings.map((f) => `${f.level} ${f.code}`);
}
