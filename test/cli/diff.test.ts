import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fixture, runCli } from "../helpers.js";

const truth = (...parts: string[]) => JSON.parse(readFileSync(fixture("checkpoints", ...parts), "utf8"));
/** A number the diff printed to four significant digits, against the value torch recorded. */
const closeTo = (printed: string, recorded: number) => Math.abs(Number(printed) - recorded) <= 5e-4 * Math.abs(recorded);

describe("diff", () => {
  it("shows counters, learning rate and scheduler that moved between two saves of one run", () => {
    const run = runCli(["diff", fixture("checkpoints", "hf-trainer", "run", "checkpoint-500"), fixture("checkpoints", "hf-trainer", "run", "checkpoint-1000"), "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const d = JSON.parse(run.stdout);
    const [a, b] = ["checkpoint-500", "checkpoint-1000"].map((n) => truth("hf-trainer", "run.expected.json").checkpoints[n]);
    const steps = [String(a.global_step), String(b.global_step)];
    assert.deepEqual(steps, ["500", "1000"]);
    assert.deepEqual(d.layouts, ["hf-trainer", "hf-trainer"]);
    assert.deepEqual(d.changed.map((c: { what: string }) => c.what), ["global_step", "expected optimizer steps", "optimizer steps", "scheduler last_epoch", "optimizer lr", "scheduler _last_lr"]);
    const byWhat = Object.fromEntries(d.changed.map((c: { what: string; a: string; b: string }) => [c.what, [c.a, c.b]]));
    for (const what of ["global_step", "expected optimizer steps", "optimizer steps", "scheduler last_epoch"]) assert.deepEqual(byWhat[what], steps, what);
    const [lrA, lrB] = byWhat["optimizer lr"];
    assert.ok(closeTo(lrA, a.optimizer_lr) && closeTo(lrB, b.optimizer_lr), `${lrA} ${lrB} against ${a.optimizer_lr} ${b.optimizer_lr}`);
    const lastLr = byWhat["scheduler _last_lr"].map((s: string) => s.split(", "));
    assert.ok(lastLr[0].length === 2 && lastLr[0].every((x: string, i: number) => closeTo(x, a.scheduler._last_lr[i])), byWhat["scheduler _last_lr"][0]);
    assert.ok(lastLr[1].length === 2 && lastLr[1].every((x: string, i: number) => closeTo(x, b.scheduler._last_lr[i])), byWhat["scheduler _last_lr"][1]);
    assert.equal(d.tensorsCompared, Object.keys(a.weights_tensors).length);
    assert.deepEqual([d.tensorsChanged, d.onlyInA, d.onlyInB], [[], [], []]);
  });

  it("lists tensors present in one only (a PEFT adapter against the full model)", () => {
    const a = fixture("checkpoints", "hf-trainer", "cases", "ok", "checkpoint-500");
    const b = fixture("checkpoints", "hf-trainer", "cases", "ok-peft-adapter", "checkpoint-500");
    const run = runCli(["diff", a, b, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const d = JSON.parse(run.stdout);
    const tensorsOf = (name: string) => Object.keys(truth("hf-trainer", "cases", `${name}.expected.json`).weights_tensors).sort();
    assert.deepEqual([...d.onlyInA].sort(), tensorsOf("ok"));
    assert.deepEqual([...d.onlyInB].sort(), tensorsOf("ok-peft-adapter"));
    assert.deepEqual([d.changed, d.tensorsChanged, d.tensorsCompared], [[], [], 0], "both saved at global_step 500 with the same optimizer and schedule");
    const text = runCli(["diff", a, b]).stdout;
    assert.match(text, /^Tensors: 0 in both, 0 changed shape or dtype, 4 only in A, 4 only in B$/m);
    assert.match(text, /^Counters, learning rate and optimizer settings: no change$/m);
  });

  it("a checkpoint against itself: no change", () => {
    const ok = fixture("checkpoints", "training-state", "ok");
    const run = runCli(["diff", ok, ok, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const d = JSON.parse(run.stdout);
    assert.deepEqual([d.changed, d.tensorsChanged, d.onlyInA, d.onlyInB, d.tensorsCompared], [[], [], [], [], 4]);
  });

  it("exits 1 when a path does not exist, naming it", () => {
    const run = runCli(["diff", "/nonexistent/a", fixture("checkpoints", "training-state", "ok")]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr, "verify-checkpoint diff: /nonexistent/a: PATH_NOT_FOUND\n");
  });
});
