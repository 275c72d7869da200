import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ShardMap } from "../../src/layouts/weights.js";

describe("ShardMap: a shard index's weight_map as two columns, read as a map", () => {
  const tensors = ["a.weight", "b.weight", "__proto_x", "c.bias"];
  const shards = ["model-1.safetensors", "model-2.safetensors", "model-1.safetensors", "model-2.safetensors"];
  const literal: [string, string][] = [
    ["a.weight", "model-1.safetensors"],
    ["b.weight", "model-2.safetensors"],
    ["__proto_x", "model-1.safetensors"],
    ["c.bias", "model-2.safetensors"],
  ];

  it("iterates, counts and looks up exactly as a Map of the same pairs", () => {
    const m = new ShardMap(tensors, shards);
    assert.equal(m.size, 4);
    assert.deepEqual([...m], literal);
    assert.deepEqual([...m.entries()], literal);
    assert.deepEqual([...m.keys()], literal.map(([t]) => t));
    assert.deepEqual([...m.values()], literal.map(([, s]) => s));
    const seen: [string, string][] = [];
    m.forEach((shard, tensor, map) => {
      assert.equal(map, m);
      seen.push([tensor, shard]);
    });
    assert.deepEqual(seen, literal);
    assert.equal(m.get("b.weight"), "model-2.safetensors");
    assert.equal(m.get("c.bias"), "model-2.safetensors");
    assert.equal(m.get("missing"), undefined);
    assert.equal(m.has("a.weight"), true);
    assert.equal(m.has("a.weigh"), false);
    assert.equal(new ShardMap([], []).size, 0);
  });
});
