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
  const json = await loader.json(rel, false);
  if (json.problem) return { rel, problem: { code: "SHARD_INDEX_INVALID", data: json.problem.data }, weightMap: new Map() };
  const entries = indexEntries(json.value);
  if (!entries) return { rel, problem: { code: "SHARD_INDEX_INVALID", data: { reason: "expected {\"weight_map\": {tensor: file}}" } }, weightMap: new Map() };
  const dir = posix.dirname(rel);
  const shards: string[] = new Array(entries.tensors.length);
  // A mixture-of-experts index maps tens of thousands of tensors to a few dozen shards: each shard path is resolved once.
  const resolved = new Map<string, string | undefined>();
  for (let k = 0; k < entries.tensors.length; k++) {
    const file = entries.files[k]!;
    let joined = resolved.get(file);
    if (!resolved.has(file)) {
      // An index must not send the loader outside the checkpoint folder.
      const j = posix.normalize(posix.join(dir, file));
      joined = j.startsWith("..") || posix.isAbsolute(file) ? undefined : j;
      resolved.set(file, joined);
    }
    if (joined === undefined) {
      return { rel, problem: { code: "SHARD_INDEX_INVALID", data: { reason: `shard path ${file} points outside the checkpoint` } }, weightMap: new Map() };
    }
    shards[k] = joined;
  }
  return { rel, weightMap: new ShardMap(entries.tensors, shards) };
}

/**
 * weight_map as two columns, tensor k in shard k, read as a map: a mixture-of-experts index has
 * tens of thousands of entries, which the checks only walk; a Map is made only if one is looked up.
 * The names are distinct (they were the keys of one JSON object).
 */
export class ShardMap implements ReadonlyMap<string, string> {
  private map: Map<string, string> | undefined;

  constructor(
    private readonly tensors: readonly string[],
    private readonly shards: readonly string[],
  ) {}

  get size(): number {
    return this.tensors.length;
  }

  private lookup(): Map<string, string> {
    if (!this.map) {
      this.map = new Map();
      for (let k = 0; k < this.tensors.length; k++) this.map.set(this.tensors[k]!, this.shards[k]!);
    }
    return this.map;
  }

  get(tensor: string): string | undefined {
    return this.lookup().get(tensor);
  }

  has(tensor: string): boolean {
    return this.lookup().has(tensor);
  }

  forEach(visit: (shard: string, tensor: string, map: ReadonlyMap<string, string>) => void): void {
    for (let k = 0; k < this.tensors.length; k++) visit(this.shards[k]!, this.tensors[k]!, this);
  }

  *entries(): MapIterator<[string, string]> {
    for (let k = 0; k < this.tensors.length; k++) yield [this.tensors[k]!, this.shards[k]!];
  }

  keys(): MapIterator<string> {
    return this.tensors.values();
  }

  values(): MapIterator<string> {
    return this.shards.values();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
}

/**
 * weight_map's entries when the index has IndexSchema's shape. The shape real indexes have (plain
 * objects, string values) is accepted by a loop over the entries; anything else goes through zod,
 * whose result decides. Like zod's record, the loop leaves out a "__proto__" key.
 */
function indexEntries(value: unknown): { tensors: string[]; files: string[] } | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObject(value) && isObject(value["weight_map"]) && (value["metadata"] === undefined || isObject(value["metadata"]))) {
    const map = value["weight_map"];
    // Two arrays, not a pair per entry: a mixture-of-experts index has tens of thousands.
    const tensors = Object.keys(map);
    const files: string[] = new Array(tensors.length);
    let plain = true;
    let proto = -1;
    for (let k = 0; k < tensors.length && plain; k++) {
      const file = map[tensors[k]!];
      if (typeof file !== "string") plain = false;
      else files[k] = file;
      if (tensors[k] === "__proto__") proto = k;
    }
    if (plain) {
      if (proto >= 0) {
        tensors.splice(proto, 1);
        files.splice(proto, 1);
      }
      return { tensors, files };
    }
  }
  const parsed = IndexSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const entries = Object.entries(parsed.data.weight_map);
  return { tensors: entries.map(([t]) => t), files: entries.map(([, f]) => f) };
}
