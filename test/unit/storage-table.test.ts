import { it } from "node:test";
import assert from "node:assert/strict";
import { StorageTable } from "../../src/formats/torch/storage-table.js";
import { StorageRef } from "../../src/formats/pickle/values.js";

it("a storage table is a Map by key in insertion order, whatever the keys", () => {
  const ref = (key: string, n = 1) => new StorageRef(key, "float32", 4, "cpu", n, "FloatStorage");
  const sequences: string[][] = [
    ["0", "1", "2", "3"], // torch's: numbered in order, never a Map
    ["0", "1", "5", "2", "3", "4", "5x", "017", "6"], // a gap, then the missing ones, then others
    ["94000000000000", "94000000000064", "0"], // legacy pointer-like keys
    ["a", "0", "1", "b", "2"],
  ];
  for (const keys of sequences) {
    const table = new StorageTable();
    const map = new Map<string, StorageRef>();
    for (const k of keys) {
      const r = ref(k);
      table.set(k, r);
      map.set(k, r);
    }
    // Replacing keeps the place.
    const again = ref(keys[1]!, 7);
    table.set(keys[1]!, again);
    map.set(keys[1]!, again);
    assert.deepEqual([...table.entries()], [...map.entries()], keys.join(","));
    assert.deepEqual([...table.keys()], [...map.keys()]);
    assert.deepEqual([...table.values()], [...map.values()]);
    assert.equal(table.size, map.size);
    for (const k of [...keys, "999", "x", "-1", ""]) assert.equal(table.get(k), map.get(k), k);
  }
});
