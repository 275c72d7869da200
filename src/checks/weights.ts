import type { WeightsView } from "../layouts/types.js";
import { formatBytes } from "../core/units.js";
import { defineCheck, findings, reporter } from "./define.js";
import { globalFindings } from "./helpers/globals.js";

const r = reporter("weights");

export const weightsCheck = defineCheck({
  id: "weights",
  title: "Model weights validate",
  codes: ["WEIGHTS_FILE_OK", "WEIGHTS_FILE_INVALID", "TORCH_FILE_PROBLEM", "SHARD_INDEX_INVALID", "SHARD_MISSING", "SHARD_TENSOR_MISSING", "SHARDS_OK"],
  alsoReports: ["GLOBALS_ALLOWED", "GLOBAL_HARMLESS", "GLOBAL_UNKNOWN", "GLOBAL_UNSAFE"],
  run({ checkpoint: c }) {
    const w = c.weights;
    if (!w) return { skip: "this layout has no separate weights" };
    if (w.files.length === 0 && !w.index) return { skip: w.unusable.length > 0 ? `${w.unusable.join(", ")} could not be read (see required-files)` : "no weights file (see required-files)" };
    const files = w.files.flatMap((f) => {
      if (f.problem) return [r.error(f.problem.code, { file: f.rel, ...f.problem.data }, f.rel)];
      const dtypes = [...new Set(f.tensors.map((t) => t.dtype))].join(", ");
      return [
        r.pass("WEIGHTS_FILE_OK", { file: f.rel, tensors: f.tensors.length, dtypes: dtypes || "none", size: formatBytes(f.size) }, f.rel),
        ...f.torchProblems.map((p) => r.error(p.code, { file: f.rel, ...p.data }, f.rel)),
        ...(f.kind === "torch" ? globalFindings(r, f.rel, f.verdicts) : []),
      ];
    });
    return findings(files, w.index && indexFindings(w));
  },
});

function indexFindings(w: WeightsView) {
  const index = w.index!;
  if (index.problem) return [r.error("SHARD_INDEX_INVALID", { file: index.rel, ...index.problem.data }, index.rel)];
  const out = w.missingShards.map((s) => r.error("SHARD_MISSING", { shard: s, file: index.rel }, s));
  // Tens of thousands of tensors in a few dozen shards: one name set per shard, not a search per tensor.
  const files = new Map<string, Set<string> | undefined>();
  for (const f of w.files) if (!files.has(f.rel)) files.set(f.rel, f.problem ? undefined : new Set(f.tensors.map((t) => t.name)));
  const byShard = new Map<string, string[]>();
  index.weightMap.forEach((shard, tensor) => {
    const names = files.get(shard);
    if (!names || names.has(tensor)) return;
    const missing = byShard.get(shard);
    if (missing) missing.push(tensor);
    else byShard.set(shard, [tensor]);
  });
  for (const [shard, names] of byShard) out.push(r.error("SHARD_TENSOR_MISSING", { file: index.rel, shard, count: names.length, example: names[0] }, shard));
  const shards = new Set(index.weightMap.values()).size;
  if (out.length === 0 && w.files.every((f) => !f.problem)) out.push(r.pass("SHARDS_OK", { file: index.rel, shards, tensors: index.weightMap.size }, index.rel));
  return out;
}
