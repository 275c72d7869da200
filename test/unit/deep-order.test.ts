import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { FileLoader } from "../../src/layouts/file-loader.js";
import type { Shard } from "../../src/integrity/shard.js";
import { LocalStorage } from "../../src/storage/local.js";

// dist-test/test/unit -> the repository's fixtures
const DIR = fileURLToPath(new URL("../../../fixtures/checkpoints/hf-trainer/run-complete/checkpoint-250", import.meta.url));
const FILES = ["optimizer.pt", "rng_state.pth", "scheduler.pt", "training_args.bin", "model.safetensors"];

/** What --deep reports (file, records read), in order, after the files were decoded in `order` (layouts decode side by side: any order happens). */
async function deepScan(order: string[], shard?: Shard): Promise<[string, number][]> {
  const loader = new FileLoader(new LocalStorage(DIR), [], true);
  try {
    for (const rel of order) {
      if (rel.endsWith(".safetensors")) await loader.weights(rel, 0);
      else await loader.decode(rel);
    }
    return (await loader.deepScan(undefined, shard)).map((r) => [r.rel, r.recordsChecked]);
  } finally {
    await loader.close();
  }
}

describe("--deep lists and splits files by name, whatever order they were decoded in", () => {
  it("the same report order for every decode order", async () => {
    // Torch files by name, then safetensors files by name.
    const want = ["optimizer.pt", "rng_state.pth", "scheduler.pt", "training_args.bin", "model.safetensors"];
    for (const order of [FILES, [...FILES].reverse(), ["scheduler.pt", "model.safetensors", "optimizer.pt", "training_args.bin", "rng_state.pth"]]) {
      assert.deepEqual((await deepScan(order)).map(([rel]) => rel), want, order.join(", "));
    }
  });

  it("--shard i/n: processes that decoded in different orders still read every record exactly once between them", async () => {
    const whole = new Map(await deepScan(FILES));
    assert.ok([...whole.values()].every((n) => n > 0));
    for (const count of [2, 3, 5]) {
      const total = new Map<string, number>();
      for (let index = 0; index < count; index++) {
        const order = index % 2 === 0 ? FILES : [...FILES].reverse();
        for (const [rel, n] of await deepScan(order, { index, count })) total.set(rel, (total.get(rel) ?? 0) + n);
      }
      assert.deepEqual(total, whole, `--shard i/${count}`);
    }
  });
});
