// inspect as a user runs it, on the reader fixtures (spawned: the in-process checks are in test/fixtures/readers.test.ts).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers.js";
import { DIR, expectations, fileOf, unsafeVerdicts } from "../fixtures/reader-fixtures.js";

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("inspect on hostile fixtures: exit 1, every unsafe global named, in JSON and text", () => {
  for (const { name, expected } of expectations.filter((e) => e.expected.hostile)) {
    it(name, () => {
      const want = unsafeVerdicts(name, expected);
      const cli = runCli(["inspect", fileOf(name), "--json"]);
      assert.equal(cli.code, 1);
      const json = JSON.parse(cli.stdout);
      assert.deepEqual(json.globals.filter((g: { tier: string }) => g.tier === "unsafe").map((g: { name: string }) => g.name).sort(), want);
      assert.equal(json.unsafe, true);
      const text = runCli(["inspect", fileOf(name)]);
      assert.equal(text.code, 1);
      for (const g of want) assert.match(text.stdout, new RegExp(`^  ✖ unsafe  ${escape(g)}: `, "m"));
      assert.match(text.stdout, /\n✖ UNSAFE: loading this file with pickle or torch\.load\(weights_only=False\) runs code\n$/);
    });
  }
});

describe("inspect", () => {
  it("text: an indented tree with tensors as dtype[shape] and one-element values inline", () => {
    const run = runCli(["inspect", join(DIR, "optim_adam.pt")]);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /state: dict \(4 keys\)/);
    assert.match(run.stdout, /step: float32\[\] = 3/);
    assert.match(run.stdout, /exp_avg: float32\[3, 4\]/);
  });
  it("json: the contract's shape (dicts as objects, tensors with dtype, shape and value)", () => {
    const run = runCli(["inspect", join(DIR, "optim_adam.pt"), "--json"]);
    assert.equal(run.code, 0);
    const out = JSON.parse(run.stdout);
    const s0 = out.value.state["0"];
    assert.deepEqual({ dtype: s0.step.dtype, shape: s0.step.shape, value: s0.step.value }, { dtype: "float32", shape: [], value: 3 });
    assert.deepEqual(s0.exp_avg.shape, [3, 4]);
    assert.equal(out.value.param_groups[0].lr, 0.001);
    assert.equal(out.unsafe, false);
  });
  it("json: ints beyond 2^53 as strings, NaN and infinities as strings", () => {
    const out = JSON.parse(runCli(["inspect", join(DIR, "nested_plain.pt"), "--json"]).stdout);
    assert.equal(out.value.beyond_2_53, "9007199254740993");
    assert.equal(out.value.nan, "NaN");
    assert.equal(out.value.ninf, "-Infinity");
  });
  it("safetensors: metadata and one entry per tensor, as the writer recorded them", () => {
    const out = JSON.parse(runCli(["inspect", join(DIR, "st_metadata.safetensors"), "--json"]).stdout);
    const expected = JSON.parse(readFileSync(join(DIR, "st_metadata.expected.json"), "utf8"));
    assert.equal(out.format, "safetensors");
    assert.deepEqual(out.metadata, expected.metadata);
    const shapes = (tensors: Record<string, { dtype: string; shape: number[] }>) => Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.shape]));
    assert.deepEqual(shapes(out.tensors), shapes(expected.tensors));
  });
});
