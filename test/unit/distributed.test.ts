import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkGeometry } from "../../src/layouts/dcp/geometry.js";
import type { TensorItem } from "../../src/layouts/dcp/metadata.js";
import { checkIndices, indexFiles } from "../../src/layouts/accelerate/files.js";
import type { RankFinding } from "../../src/layouts/types.js";

const tensor = (size: number[], chunks: [number[], number[]][]): TensorItem => ({ kind: "tensor", fqn: "w", size, chunks: chunks.map(([offsets, sizes]) => ({ offsets, sizes })) });
const codes = (item: TensorItem, budget = 1_000_000) => checkGeometry(item, ".metadata", { pairs: budget }).map((f) => f.code);

describe("DCP chunk geometry: each boundary on both sides", () => {
  const table: [string, TensorItem, string[]][] = [
    ["two row shards cover [4, 2]", tensor([4, 2], [[[0, 0], [2, 2]], [[2, 0], [2, 2]]]), []],
    ["uneven shards (3 rows over 2 ranks)", tensor([3, 4], [[[0, 0], [2, 4]], [[2, 0], [1, 4]]]), []],
    ["a chunk ending exactly at the edge", tensor([8], [[[0], [6]], [[6], [2]]]), []],
    ["a chunk one element past the edge", tensor([8], [[[0], [6]], [[6], [3]]]), ["DCP_CHUNK_INVALID"]],
    ["a 0-dim tensor, one chunk", tensor([], [[[], []]]), []],
    ["a 0-dim tensor listed twice", tensor([], [[[], []], [[], []]]), ["DCP_CHUNKS_OVERLAP"]],
    ["an empty tensor [0, 3], one empty chunk", tensor([0, 3], [[[0, 0], [0, 3]]]), []],
    ["chunks touching but not overlapping on dim 1", tensor([2, 4], [[[0, 0], [2, 2]], [[0, 2], [2, 2]]]), []],
    ["chunks sharing one element", tensor([2, 4], [[[0, 0], [2, 3]], [[0, 2], [2, 2]]]), ["DCP_CHUNKS_OVERLAP"]],
    ["a row missing", tensor([4, 2], [[[0, 0], [2, 2]], [[3, 0], [1, 2]]]), ["DCP_CHUNKS_INCOMPLETE"]],
    ["a chunk with the wrong number of dimensions", tensor([4, 2], [[[0], [4]]]), ["DCP_CHUNK_INVALID"]],
    ["no chunk at all", tensor([4], []), ["DCP_CHUNKS_INCOMPLETE"]],
  ];
  for (const [name, item, want] of table) it(name, () => assert.deepEqual(codes(item), want));

  it("coverage is counted in integers beyond 2^53", () => {
    const big = 2 ** 40;
    assert.deepEqual(codes(tensor([big, big], [[[0, 0], [big, big]]])), []);
    assert.deepEqual(codes(tensor([big, big], [[[0, 0], [big, big - 1]]])), ["DCP_CHUNKS_INCOMPLETE"]);
  });

  it("the overlap budget bounds the comparisons, and coverage still catches a double count", () => {
    const n = 3000; // every chunk spans dim 0: the sweep would compare all n^2/2 pairs
    const cover = tensor([1, n], Array.from({ length: n }, (_, i): [number[], number[]] => [[0, i], [1, 1]]));
    assert.deepEqual(codes(cover, 1000), []);
    const doubled = tensor([1, n], [...cover.chunks.map((c): [number[], number[]] => [c.offsets, c.sizes]), [[0, 0], [1, 1]]]);
    assert.deepEqual(codes(doubled, 10), ["DCP_CHUNKS_INCOMPLETE"]);
  });
});

describe("Accelerate's indexed files", () => {
  const entries = (names: string[]) => names.map((name) => ({ name, kind: "file" as const }));
  const run = (names: string[], optimizerElsewhere = false) => {
    const found: RankFinding[] = [];
    checkIndices(indexFiles(entries(names)), optimizerElsewhere, (f) => found.push(f));
    return found.map((f) => f.code);
  };
  const table: [string, string[], string[]][] = [
    ["0..2 contiguous", ["random_states_0.pkl", "random_states_1.pkl", "random_states_2.pkl", "optimizer.bin"], []],
    ["a gap at 1", ["random_states_0.pkl", "random_states_2.pkl", "optimizer.bin"], ["ACCELERATE_RNG_MISSING"]],
    ["starting at 1", ["random_states_1.pkl", "optimizer.bin"], ["ACCELERATE_RNG_MISSING"]],
    ["an index of 20 digits", ["random_states_0.pkl", "random_states_18446744073709551616.pkl", "optimizer.bin"], ["ACCELERATE_INDEX_INVALID"]],
    ["an index of 2^20", ["random_states_0.pkl", "random_states_1048576.pkl"], ["ACCELERATE_INDEX_INVALID"]],
    ["an index just under 2^20 is a gap, not enumerated one by one beyond the first 20", ["random_states_0.pkl", "random_states_1048575.pkl"], ["ACCELERATE_RNG_MISSING"]],
    ["custom objects 0 and 2", ["random_states_0.pkl", "custom_checkpoint_0.pkl", "custom_checkpoint_2.pkl"], ["ACCELERATE_CUSTOM_MISSING"]],
    ["scheduler_1 without optimizer_1", ["random_states_0.pkl", "optimizer.bin", "scheduler.bin", "scheduler_1.bin"], ["ACCELERATE_OPTIMIZER_MISSING"]],
    ["optimizer_1 without scheduler_1, others scheduled", ["random_states_0.pkl", "optimizer.bin", "optimizer_1.bin", "scheduler.bin"], ["ACCELERATE_SCHEDULER_MISSING"]],
    ["optimizers without any scheduler", ["random_states_0.pkl", "optimizer.bin", "optimizer_1.bin"], []],
  ];
  for (const [name, names, want] of table) it(name, () => assert.deepEqual(run(names), want));
  it("under FSDP or DeepSpeed the optimizer is not a .bin file: schedulers are not paired", () => {
    assert.deepEqual(run(["random_states_0.pkl", "scheduler.bin"], true), []);
  });
});
