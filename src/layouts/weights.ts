import { posix } from "node:path";
import * as z from "zod";
import type { FileLoader } from "./file-loader.js";
import type { ExpectedFile, ShardIndex, WeightsView } from "./types.js";

/** Weight file names in the order loaders look for them (transformers' and PEFT's names). */
export const WEIGHT_CANDIDATES = [
  "model.safetensors.index.json",
  "pytorch_model.bin.index.json",
  "model.safetensors",
  "pytorch_model.bin",
  "adapter_model.safetensors",
  "adapter_model.bin",
];

const IndexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string()),
});

/**
 * Finds the weights (sharded index first, as transformers does), examines
 * each file's first bytes and decodes the usable ones' headers. Returns the
 * expected-file entries for the required-files check too.
 */
export async function resolveWeights(loader: FileLoader, candidates = WEIGHT_CANDIDATES): Promise<{ view: WeightsView; expected: ExpectedFile[] }> {
  const present: string[] = [];
  for (const c of candidates) if (await loader.exists(c)) present.push(c);
  const chosen = present[0];
  const view: WeightsView = { candidates, files: [], unusable: [], missingShards: [] };
  if (!chosen) return { view, expected: [] };
  const expected: ExpectedFile[] = [];
  let shards: string[] = [chosen];
  if (chosen.endsWith(".index.json")) {
    const spec = await loader.examine({ rel: chosen, role: "shard index", required: true, expect: "json" });
    expected.push(spec);
    view.index = await readIndex(loader, chosen);
    shards = [...new Set(view.index.weightMap.values())];
  }
  for (const rel of shards) {
    const spec = await loader.examine({ rel, role: "model weights", required: true, expect: rel.endsWith(".safetensors") ? "safetensors" : "torch" });
    if (spec.problem?.code === "FILE_MISSING" && view.index) {
      view.missingShards.push(rel);
      continue;
    }
    expected.push(spec);
    if (spec.problem) view.unusable.push(rel);
    else view.files.push(await loader.weights(rel, spec.size ?? 0));
  }
  return { view, expected };
}

async function readIndex(loader: FileLoader, rel: string): Promise<ShardIndex> {
  const json = await loader.json(rel);
  if (json.problem) return { rel, problem: { code: "SHARD_INDEX_INVALID", data: json.problem.data }, weightMap: new Map() };
  const parsed = IndexSchema.safeParse(json.value);
  if (!parsed.success) return { rel, problem: { code: "SHARD_INDEX_INVALID", data: { reason: "expected {\"weight_map\": {tensor: file}}" } }, weightMap: new Map() };
  const dir = posix.dirname(rel);
  const weightMap = new Map<string, string>();
  for (const [tensor, file] of Object.entries(parsed.data.weight_map)) {
    // An index must not send the loader outside the checkpoint folder.
    const joined = posix.normalize(posix.join(dir, file));
    if (joined.startsWith("..") || posix.isAbsolute(file)) {
      return { rel, problem: { code: "SHARD_INDEX_INVALID", data: { reason: `shard path ${file} points outside the checkpoint` } }, weightMap: new Map() };
    }
    weightMap.set(tensor, joined);
  }
  return { rel, weightMap };
}
