import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CHECKS } from "../../src/checks/index.js";
import { ctx, optimizer, present, progress, run, scaler, scheduler, weights } from "./normalised.js";

/** The checks' ids (the report's and the docs' keys) and titles, in the order they run; checks added later may sit between them. */
const KNOWN: [string, string][] = [
  ["directory", "Checkpoint path"],
  ["required-files", "Required files"],
  ["training-state", "Training state decodes safely"],
  ["metadata", "Progress counters and metrics"],
  ["optimizer", "Optimizer step count"],
  ["weights", "Model weights validate"],
  ["config", "Model config"],
  ["optimizer-weights", "Optimizer state belongs to these weights"],
  ["scheduler", "LR scheduler and resume learning rate"],
  ["fast-forward", "What the resume will do"],
  ["scaler", "AMP gradient scaler"],
  ["integrity", "Every byte read (--deep)"],
];

describe("the check registry", () => {
  it("the original pipeline's five checks come first, by their ids", () => {
    assert.deepEqual(CHECKS.slice(0, 5).map((c) => c.id), ["directory", "required-files", "training-state", "metadata", "optimizer"]);
  });
  it("every known check is registered once, with its title, in this order", () => {
    const registered = CHECKS.map((c) => [c.id, c.title]);
    const found = KNOWN.map(([id]) => registered.findIndex(([r]) => r === id));
    assert.deepEqual(KNOWN.map(([id]) => registered.find(([r]) => r === id) ?? [id, "missing"]), KNOWN.map(([id, title]) => [id, title]));
    assert.deepEqual([...found].sort((a, b) => a - b), found, "in order");
    assert.equal(new Set(CHECKS.map((c) => c.id)).size, CHECKS.length, "ids are unique");
  });
  it("the README's table of checks lists every registered check once, in the order they run", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8"); // dist-test/test/unit -> repository root
    const section = readme.slice(readme.indexOf("## The checks"), readme.indexOf("### Pickle globals"));
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(rows, CHECKS.map((c) => c.id));
  });
  it("every finding a check returns names that check", async () => {
    const c = ctx({
      progress: present(progress({ metrics: [{ key: "best_val_f1", value: 0.5 }] })),
      optimizer: present(optimizer([2532], [[3]])),
      scheduler: present(scheduler({ kind: "StepLR", lastEpoch: 2540, lastLr: [0.1], baseLrs: [0.1], fields: new Map([["step_size", 10_000], ["gamma", 0.5]]) })),
      scaler: present(scaler(65536)),
      weights: weights([[3]]),
      config: { rel: "config.json", text: "{}" },
    });
    const ran: string[] = [];
    for (const check of CHECKS) {
      const out = await run(check, c);
      for (const f of out.findings ?? []) assert.equal((f as { check?: string }).check, check.id, `${check.id}: ${f.code}`);
      if (out.findings?.length) ran.push(check.id);
    }
    for (const id of ["directory", "metadata", "optimizer", "weights", "config", "optimizer-weights", "scheduler", "fast-forward", "scaler"]) assert.ok(ran.includes(id), `${id} returned no finding`);
  });
});
