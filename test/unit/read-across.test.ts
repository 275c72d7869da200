import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { FileLoader } from "../../src/layouts/file-loader.js";
import { PyDict, Tensor } from "../../src/formats/pickle/values.js";
import { LocalStorage } from "../../src/storage/local.js";

// The real-torch ZIP64 training state: 21,846 parameters, a 4-byte `step` record each, between kilobyte moment records.
const DIR = fileURLToPath(new URL("../../../fixtures/checkpoints/training-state/ok-zip64-many-records", import.meta.url));
const REL = "training_state.pth";

/** The step values as the loader reads them, and the bytes its handle read for them. */
async function steps(deep: boolean, readAcross: boolean): Promise<{ values: (number | undefined)[]; bytes: number; count: number }> {
  const loader = new FileLoader(new LocalStorage(DIR), [], deep, readAcross);
  try {
    const d = await loader.decode(REL);
    const state = ((d.value as PyDict).get("optimizer_state_dict") as PyDict).get("state") as PyDict;
    const ts: Tensor[] = [];
    state.forEach((_, s) => ts.push((s as PyDict).get("step") as Tensor));
    const handle = await loader.handle(REL);
    const before = handle.bytesRead;
    const values = await d.scalar.many!(ts);
    return { values, bytes: handle.bytesRead - before, count: ts.length };
  } finally {
    await loader.close();
  }
}

describe("--deep reads step values across records; default mode and a --shard part do not", () => {
  it("the same values every way; across reads the bytes between the records, record by record reads only the records", async () => {
    const one = await steps(false, false);
    const shardPart = await steps(true, false);
    const across = await steps(true, true);
    assert.ok(one.count > 20000);
    assert.ok(one.values.every((v) => typeof v === "number"));
    assert.deepEqual(shardPart.values, one.values);
    assert.deepEqual(across.values, one.values);
    // Record by record: a local header (30 bytes + the name + at most 68 bytes of padding) and 4 bytes per step.
    assert.ok(one.bytes <= one.count * 160, `default mode read ${one.bytes} bytes for ${one.count} steps`);
    assert.equal(shardPart.bytes, one.bytes);
    // Across: the moment records between the steps too.
    assert.ok(across.bytes > 2 * one.bytes, `across read ${across.bytes} bytes, record by record ${one.bytes}`);
  });
});
