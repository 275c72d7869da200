import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fixture, runCli } from "../helpers.js";

describe("diff", () => {
  it("shows counters, learning rate and scheduler that moved between two saves of one run", () => {
    const run = runCli(["diff", fixture("checkpoints", "hf-trainer", "run", "checkpoint-500"), fixture("checkpoints", "hf-trainer", "run", "checkpoint-1000"), "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const d = JSON.parse(run.stdout);
    const byWhat = Object.fromEntries(d.changed.map((c: { what: string; a: string; b: string }) => [c.what, [c.a, c.b]]));
    assert.deepEqual(byWhat["global_step"], ["500", "1000"]);
    assert.deepEqual(byWhat["optimizer steps"], ["500", "1000"]);
    assert.deepEqual(byWhat["scheduler last_epoch"], ["500", "1000"]);
    assert.ok(byWhat["optimizer lr"], "the learning rate moved");
    assert.equal(d.tensorsCompared, 4);
    assert.deepEqual([d.tensorsChanged, d.onlyInA, d.onlyInB], [[], [], []]);
  });
  it("lists tensors present in one only (a PEFT adapter against the full model)", () => {
    const a = fixture("checkpoints", "hf-trainer", "cases", "ok", "checkpoint-500");
    const b = fixture("checkpoints", "hf-trainer", "cases", "ok-peft-adapter", "checkpoint-500");
    const d = JSON.parse(runCli(["diff", a, b, "--json"]).stdout);
    assert.equal(d.onlyInA.length, 4);
    assert.ok(d.onlyInB.length > 0);
    const text = runCli(["diff", a, b]).stdout;
    assert.match(text, /Tensors: 0 in both, 0 changed shape or dtype, 4 only in A/);
  });
  it("exits 1 when a path does not exist", () => {
    const run = runCli(["diff", "/nonexistent/a", fixture("checkpoints", "training-state", "ok")]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /PATH_NOT_FOUND/);
  });
});
