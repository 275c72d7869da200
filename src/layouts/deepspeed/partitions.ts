import { isDict, seqItems, type PyValue } from "../../formats/pickle/values.js";
import type { RankFinding } from "../types.js";
import { finding, type Dims } from "./rules.js";
import type { ModelInfo, OptimInfo, TagSummary } from "./summary.js";
import { dictAt, intList, tensorNumel } from "./values.js";

/**
 * Partition sizes from shapes alone (§1.9.7), the checks DeepSpeed's
 * zero_to_fp32 makes before it merges a tag: the flat partitions of every
 * data-parallel rank must add up to the parameters param_shapes records.
 * Only tensor metadata is read.
 */
export function partitionFindings(s: TagSummary, d: Dims): RankFinding[] {
  if (d.dp === undefined || d.dp < 1) return [];
  const zero = s.optims.filter((o) => o.entry.file.kind === "optim");
  const out: RankFinding[] = [];
  for (const model of s.models) {
    const mp = "mp" in model.entry.file ? model.entry.file.mp : 0;
    if ("dp" in model.entry.file && model.entry.file.dp !== 0) continue; // ZeRO-3: every rank's copy records the same shapes
    const ranks = zero.filter((o) => "mp" in o.entry.file && o.entry.file.mp === mp);
    if (!model.shapes || ranks.length === 0) continue;
    out.push(...(d.zeroStage === 3 ? zero3(model, ranks, d.dp) : zero12(model, ranks, d.dp)));
  }
  return out;
}

function numels(v: PyValue | undefined): (number | undefined)[] | undefined {
  return seqItems(v)?.map(tensorNumel);
}

/** stage_1_and_2 / BF16_Optimizer: per group, the partitions of all ranks against param_shapes, both padded to 2 x dp. */
function zero12(model: ModelInfo, ranks: OptimInfo[], dp: number): RankFinding[] {
  const shapes = model.shapes!;
  const align = (x: number) => 2 * dp * Math.ceil(x / (2 * dp));
  const out: RankFinding[] = [];
  for (const o of ranks) {
    const parts = numels(o.osd.get("single_partition_of_fp32_groups"));
    if (!parts) continue;
    if (parts.length !== shapes.length) {
      out.push(finding("error", "DS_PARTITION_MISMATCH", { file: o.entry.rel, detail: `${parts.length} partition group(s), but ${model.entry.name} records ${shapes.length} parameter group(s)` }, o.entry.rel));
      return out;
    }
    const paddings = intList(o.osd.get("group_paddings")) ?? [];
    for (let g = 0; g < parts.length; g++) {
      const state = dictAt(o.base, "state")?.get(g);
      const moment = tensorNumel(isDict(state) ? state.get("exp_avg") : undefined);
      const part = parts[g];
      // ZeRO-1/2 save the fp32 partition without its padding; BF16_Optimizer keeps it.
      const want = o.bf16Optimizer ? part : part === undefined ? undefined : part + (paddings[g] ?? 0);
      if (moment !== undefined && want !== undefined && moment !== want) {
        out.push(finding("error", "DS_PARTITION_MISMATCH", { file: o.entry.rel, detail: `group ${g}: exp_avg has ${moment} elements, but the fp32 partition ${o.bf16Optimizer ? `has ${part}` : `${part} plus padding ${paddings[g] ?? 0} make ${want}`}` }, o.entry.rel));
      }
    }
  }
  if (ranks.length !== dp) return out; // a missing rank is reported by completeness; the sums need every rank
  for (let g = 0; g < shapes.length; g++) {
    const wanted = shapes[g]!.reduce((n, p) => n + p.numel, 0);
    let avail = 0;
    for (const o of ranks) avail += numels(o.osd.get("single_partition_of_fp32_groups"))?.[g] ?? Number.NaN;
    if (Number.isNaN(avail) || align(avail) === align(wanted)) continue;
    out.push(finding("error", "DS_PARTITION_MISMATCH", { file: model.entry.rel, detail: `group ${g}: param_shapes hold ${wanted} elements (${align(wanted)} padded), but the ${dp} ranks' fp32 partitions hold ${avail} (${align(avail)} padded)` }, model.entry.rel));
  }
  return out;
}

/** stage3: each parameter is split into ceil(numel / dp) per rank; each rank's fp32_flat_groups must hold exactly that. */
function zero3(model: ModelInfo, ranks: OptimInfo[], dp: number): RankFinding[] {
  const params = model.shapes!.flat();
  const wanted = params.reduce((n, p) => n + Math.ceil(p.numel / dp), 0);
  const out: RankFinding[] = [];
  for (const o of ranks) {
    const flat = numels(o.osd.get("fp32_flat_groups"));
    if (!flat || flat.some((x) => x === undefined)) continue;
    const avail = flat.reduce((n: number, x) => n + x!, 0);
    if (avail !== wanted) {
      out.push(finding("error", "DS_PARTITION_MISMATCH", { file: o.entry.rel, detail: `fp32_flat_groups hold ${avail} elements, but the ${params.length} parameters of param_shapes need ${wanted} per rank at dp ${dp}` }, o.entry.rel));
    }
  }
  return out;
}
