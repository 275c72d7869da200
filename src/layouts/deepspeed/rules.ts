import type { Code } from "../../findings/codes.js";
import { isDict, seqItems } from "../../formats/pickle/values.js";
import type { Level } from "../../findings/finding.js";
import type { RankFinding } from "../types.js";
import { MAX_RANK, tagStep, type RankFile } from "./names.js";
import type { ModelInfo, OptimInfo, TagSummary } from "./summary.js";
import { join, type RankEntry } from "./tag.js";
import { attrs, boolAt, dictAt, intOf } from "./values.js";

export function finding(level: Level, code: Code, data: Record<string, unknown>, file?: string): RankFinding {
  return file === undefined ? { level, code, data } : { level, code, data, file };
}

/** The degrees a tag's files record (research §1.5). */
export interface Dims {
  dp?: number;
  mp?: number;
  tp?: number;
  pp?: number;
  ep?: number;
  zeroStage?: number;
  /** The first model file of the tag (mp 0, dp 0): the one a host reads its own keys from. */
  ref?: ModelInfo;
  /** The optimizer file of dp 0, mp 0. */
  refOptim?: OptimInfo;
}

const MAX_LISTED = 5;

function listed(names: string[]): string {
  return names.length > MAX_LISTED ? `${names.slice(0, MAX_LISTED).join(", ")} and ${names.length - MAX_LISTED} more` : names.join(", ");
}

function at(f: RankFile, key: "dp" | "mp"): number {
  return key === "dp" ? ("dp" in f ? f.dp : 0) : "mp" in f ? f.mp : 0;
}

function first<T extends { entry: RankEntry }>(list: T[]): T | undefined {
  return [...list].sort((a, b) => at(a.entry.file, "mp") - at(b.entry.file, "mp") || at(a.entry.file, "dp") - at(b.entry.file, "dp"))[0];
}

/** The ZeRO stage the files were written by: zero_stage, else the structure (BF16_Optimizer is stage 1, as ds_to_universal assumes). */
function zeroStage(s: TagSummary, ref: ModelInfo | undefined, refOptim: OptimInfo | undefined): number | undefined {
  if (refOptim?.stage !== undefined) return refOptim.stage;
  if (refOptim?.bf16Optimizer) return 1;
  if (s.tag.entries.some((e) => e.file.kind === "zero-model")) return 3;
  if (isDict(ref?.dict.get("optimizer")) || s.tag.entries.some((e) => e.file.kind === "expert-optim")) return 0;
  return undefined;
}

export function dimsOf(s: TagSummary): Dims {
  const ref = first(s.models);
  const refOptim = first(s.optims.filter((o) => o.entry.file.kind === "optim")) ?? first(s.optims);
  const names = s.tag.entries.map((e) => e.file);
  const distinct = (kind: RankFile["kind"], key: "dp" | "mp") => new Set(names.filter((f) => f.kind === kind).map((f) => at(f, key))).size;
  const dp = ref?.dp ?? refOptim?.partitionCount ?? (distinct("optim", "dp") || undefined);
  const mp = ref?.mp ?? (Math.max(distinct("model", "mp"), distinct("zero-model", "mp"), distinct("optim", "mp")) || undefined);
  // get_model_3d_descriptor: layer_01-model_YY files count the tp slices; the mp ranks are pp x tp.
  const layer1 = names.filter((f) => f.kind === "layer" && f.layer === 1).length;
  const tp = ref?.parallel?.tp ?? (layer1 > 0 ? layer1 : mp);
  const pp = ref?.parallel?.pp ?? (layer1 > 0 && mp !== undefined ? Math.max(1, Math.floor(mp / layer1)) : mp === undefined ? undefined : 1);
  const eps = names.filter((f): f is Extract<RankFile, { kind: "expert-optim" }> => f.kind === "expert-optim");
  return { dp, mp, tp, pp, ep: eps.length > 0 ? new Set(eps.map((f) => f.ep)).size : undefined, zeroStage: zeroStage(s, ref, refOptim), ref, refOptim };
}

/** The most common value of a file's steps (parameter groups step together). */
function fileStep(o: OptimInfo): number | undefined {
  const counts = new Map<number, number>();
  for (const s of o.steps) if (s !== undefined) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** One family of rank files: which kind, how it is named, and how many data-parallel ranks write one per model-parallel rank. */
interface Grid {
  kind: RankFile["kind"];
  label: string;
  dps: number;
  name: (dp: number, mp: number) => string;
}

/** Completeness (§1.9.2): every rank file the recorded degrees call for, none beyond them. */
export function completeness(s: TagSummary, d: Dims, optimFiles = true): RankFinding[] {
  if (d.dp === undefined && d.mp === undefined) return [];
  const where = d.ref?.entry.rel ?? d.refOptim?.entry.rel;
  const bad = ([["dp_world_size", d.dp], ["mp_world_size", d.mp]] as const).find(([, v]) => v !== undefined && (v < 1 || v > MAX_RANK));
  if (bad) return [finding("error", "DS_WORLD_SIZE_INVALID", { file: where, field: bad[0], value: bad[1], max: MAX_RANK }, where)];
  const dp = d.dp ?? 1;
  const mp = d.mp ?? 1;
  if (dp * mp > MAX_RANK) return [finding("error", "DS_WORLD_SIZE_INVALID", { file: where, field: "dp_world_size x mp_world_size", value: dp * mp, max: MAX_RANK }, where)];
  const files = s.tag.entries;
  const has = (kind: RankFile["kind"]) => files.some((e) => e.file.kind === kind);
  // ZeRO or bf16 keeps the optimizer in partition files (model_states' `optimizer` is None); MoE without ZeRO in expp_rank files.
  const optimRequired = optimFiles && (has("optim") || (d.ref?.dict.get("optimizer") === null && !has("expert-optim")));
  const prefix = (files.find((e) => e.file.kind === "optim")?.file as { prefix?: string } | undefined)?.prefix ?? "";
  const grids: Grid[] = [
    d.zeroStage === 3 || has("zero-model")
      ? { kind: "zero-model", label: "ZeRO-3 model-states", dps: dp, name: (a, b) => `zero_pp_rank_${a}_mp_rank_${pad(b)}_model_states.pt` }
      : { kind: "model", label: "model-states", dps: 1, name: (_a, b) => `mp_rank_${pad(b)}_model_states.pt` },
  ];
  if (optimRequired) grids.push({ kind: "optim", label: "optimizer-partition", dps: dp, name: (a, b) => `${prefix}zero_pp_rank_${a}_mp_rank_${pad(b)}_optim_states.pt` });
  return [...grids.flatMap((g) => gridFindings(s, g, dp, mp)), ...moeCompleteness(s, d)];
}

function gridFindings(s: TagSummary, g: Grid, dp: number, mp: number): RankFinding[] {
  const out: RankFinding[] = [];
  const tag = s.tag.name;
  const files = s.tag.entries.filter((e) => e.file.kind === g.kind);
  const key = (a: number, b: number) => a * (MAX_RANK + 1) + b;
  const present = new Set(files.map((e) => key(at(e.file, "dp"), at(e.file, "mp"))));
  const missing: string[] = [];
  let count = 0;
  for (let b = 0; b < mp; b++) {
    for (let a = 0; a < g.dps; a++) {
      if (present.has(key(a, b))) continue;
      count++;
      if (missing.length < MAX_LISTED) missing.push(g.name(a, b));
    }
  }
  if (count > 0) {
    const names = `${missing.join(", ")}${count > missing.length ? ", ..." : ""}`;
    out.push(finding("error", "DS_RANK_FILES_MISSING", { tag, kind: g.label, count, expected: g.dps * mp, files: names }, join(s.tag.rel, missing[0]!)));
  }
  const extra = files.filter((e) => at(e.file, "dp") >= g.dps || at(e.file, "mp") >= mp);
  if (extra.length > 0) {
    const limit = g.dps > 1 ? `dp_world_size ${dp} x mp_world_size ${mp}` : `mp_world_size ${mp}`;
    out.push(finding("error", "DS_RANK_FILES_EXTRA", { tag, kind: g.label, count: extra.length, limit, files: listed(extra.map((e) => e.name)) }, extra[0]!.rel));
  }
  return out;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** MoE (§1.1): experts 0..num_experts-1 of every MoE layer, expert-parallel ranks 0..ep-1. */
function moeCompleteness(s: TagSummary, d: Dims): RankFinding[] {
  const out: RankFinding[] = [];
  const tag = s.tag.name;
  const experts = s.tag.entries.map((e) => e.file).filter((f): f is Extract<RankFile, { kind: "expert" }> => f.kind === "expert");
  const missing: string[] = [];
  let expected = 0;
  (d.ref?.numExperts ?? []).slice(0, 4096).forEach((n, layer) => {
    const count = Math.min(Math.max(n, 0), MAX_RANK);
    expected += count;
    for (let e = 0; e < count && missing.length <= MAX_LISTED; e++) {
      if (!experts.some((f) => f.layer === layer && f.expert === e)) missing.push(`layer_${layer}_expert_${e}_mp_rank_00_model_states.pt`);
    }
  });
  if (missing.length > 0) out.push(finding("error", "DS_RANK_FILES_MISSING", { tag, kind: "MoE expert", count: missing.length, expected, files: listed(missing) }, join(s.tag.rel, missing[0]!)));
  const eps = new Set(s.tag.entries.map((e) => e.file).flatMap((f) => (f.kind === "expert-optim" ? [f.ep] : [])));
  const top = Math.max(-1, ...eps);
  if (top + 1 !== eps.size) {
    const gaps = [];
    for (let r = 0; r < top && gaps.length < MAX_LISTED; r++) if (!eps.has(r)) gaps.push(`expp_rank_${r}_mp_rank_00_optim_states.pt`);
    out.push(finding("error", "DS_RANK_FILES_MISSING", { tag, kind: "MoE optimizer", count: top + 1 - eps.size, expected: top + 1, files: listed(gaps) }, join(s.tag.rel, gaps[0]!)));
  }
  return out;
}

/** Agreement (§1.9.2-3): the same counters, degrees and step in every rank's files. */
export function agreement(s: TagSummary, d: Dims): RankFinding[] {
  const tag = s.tag.name;
  const out: RankFinding[] = [];
  const differ = <T>(field: string, items: { entry: RankEntry; v: T | undefined }[]) => {
    const known = items.filter((i) => i.v !== undefined);
    const values = [...new Set(known.map((i) => String(i.v)))];
    if (values.length < 2) return;
    const detail = values.map((v) => `${v} in ${listed(known.filter((i) => String(i.v) === v).map((i) => i.entry.name))}`).join("; ");
    const odd = known.find((i) => String(i.v) !== String(known[0]!.v))!;
    out.push(finding("error", "DS_RANKS_DISAGREE", { tag, field, detail }, odd.entry.rel));
  };
  for (const key of ["globalSteps", "skipped", "samples", "dp", "mp"] as const) {
    const field = { globalSteps: "global_steps", skipped: "skipped_steps", samples: "global_samples", dp: "dp_world_size", mp: "mp_world_size" }[key];
    differ(field, s.models.map((m) => ({ entry: m.entry, v: m[key] })));
  }
  const zero = s.optims.filter((o) => o.entry.file.kind === "optim");
  differ("partition_count", zero.map((o) => ({ entry: o.entry, v: o.partitionCount })));
  differ("zero_stage", zero.map((o) => ({ entry: o.entry, v: o.stage })));
  differ("ds_version", zero.map((o) => ({ entry: o.entry, v: o.version })));
  const counts = new Set(zero.map((o) => o.partitionCount).filter((x) => x !== undefined));
  if (counts.size === 1 && d.ref?.dp !== undefined && !counts.has(d.ref.dp)) {
    const odd = zero[0]!;
    out.push(finding("error", "DS_RANKS_DISAGREE", { tag, field: "partition_count and dp_world_size", detail: `partition_count ${odd.partitionCount} in the optimizer files, dp_world_size ${d.ref.dp} in ${d.ref.entry.name}` }, odd.entry.rel));
  }
  const steps = s.optims.map((o) => ({ entry: o.entry, v: fileStep(o) })).filter((x) => x.v !== undefined);
  const values = [...new Set(steps.map((x) => x.v))];
  if (values.length > 1) {
    const detail = values.map((v) => `${v} in ${listed(steps.filter((x) => x.v === v).map((x) => x.entry.name))}`).join("; ");
    const common = values.map((v) => ({ v, n: steps.filter((x) => x.v === v).length })).sort((a, b) => b.n - a.n)[0]!.v;
    out.push(finding("error", "DS_RANK_STEPS_DISAGREE", { tag, detail }, steps.find((x) => x.v !== common)!.entry.rel));
  }
  return out;
}

/** The files against the config and counters they were saved with (§1.9.1, 5, 6, 8; §5). */
export function counters(s: TagSummary, d: Dims, tolerance: number): RankFinding[] {
  const out: RankFinding[] = [];
  const ref = d.ref;
  const tag = s.tag.name;
  const config = ref?.config;
  const configStage = intOf(dictAt(config, "zero_optimization")?.get("stage"));
  const filesStage = d.zeroStage;
  const optim = d.refOptim;
  if (configStage !== undefined && filesStage !== undefined && optim?.entry.file.kind === "optim") {
    const mismatch = optim.bf16Optimizer ? configStage > 1 : filesStage !== configStage;
    if (mismatch) out.push(finding("error", "DS_ZERO_STAGE_MISMATCH", { file: optim.entry.rel, stage: optim.bf16Optimizer ? "1 (BF16_Optimizer)" : filesStage, configStage }, optim.entry.rel));
  }
  const bf16 = boolAt(config, "bf16", "enabled");
  const prefixes = new Set(s.tag.entries.filter((e) => e.file.kind === "optim").map((e) => (e.file as { prefix: string }).prefix));
  if (bf16 !== undefined && prefixes.size > 0 && !prefixes.has(bf16 ? "bf16_" : "")) {
    out.push(finding("warn", "DS_PREFIX_MISMATCH", { tag, prefix: [...prefixes][0], bf16 }));
  }
  const steps = ref?.globalSteps;
  const named = tagStep(tag);
  if (named !== undefined && steps !== undefined && named !== steps) out.push(finding("warn", "DS_TAG_STEP_MISMATCH", { tag, globalSteps: steps }, ref?.entry.rel));
  const batch = intOf(config?.get("train_batch_size"));
  if (batch !== undefined && steps !== undefined && ref?.samples !== undefined && ref.samples !== steps * batch) {
    out.push(finding("warn", "DS_SAMPLES_MISMATCH", { samples: ref.samples, globalSteps: steps, batch, expected: steps * batch }, ref.entry.rel));
  }
  if (ref?.lightningStep !== undefined && steps !== undefined && ref.lightningStep !== steps) {
    out.push(finding("warn", "DS_LIGHTNING_STEP_MISMATCH", { file: ref.entry.rel, lightningStep: ref.lightningStep, globalSteps: steps }, ref.entry.rel));
  }
  const tie = unknownTie(ref);
  if (tie) out.push(finding("warn", "DS_SHARED_PARAM_UNKNOWN", { file: ref!.entry.rel, ...tie }, ref!.entry.rel));
  const scaler = lossScalerProblem(optim, ref, tolerance);
  if (scaler) out.push(finding("warn", "DS_LOSS_SCALER_INCONSISTENT", { file: optim!.entry.rel, reason: scaler }, optim!.entry.rel));
  return out;
}

/**
 * §1.9.8: every `shared_params` entry (tied parameter -> the parameter it shares) names something
 * zero_to_fp32 has in its state dict: a parameter of param_shapes, a frozen parameter or a buffer.
 * Judged only when param_shapes could be read; entries that are not name -> name are left alone.
 */
function unknownTie(ref: ModelInfo | undefined): { name: string; target: string; count: number } | undefined {
  const ties = dictAt(ref?.dict, "shared_params");
  if (!ref?.shapes || !ties || ties.size === 0) return undefined;
  const known = new Set<string>();
  for (const group of ref.shapes) for (const p of group) known.add(p.name);
  for (const [name] of dictAt(ref.dict, "frozen_param_shapes")?.entries() ?? []) if (typeof name === "string") known.add(name);
  for (const name of seqItems(ref.dict.get("buffer_names")) ?? []) if (typeof name === "string") known.add(name);
  const unknown = ties.entries().filter(([name, target]) => typeof name === "string" && typeof target === "string" && !known.has(target));
  if (unknown.length === 0) return undefined;
  const [name, target] = unknown[0]!;
  return { name: name as string, target: target as string, count: unknown.length };
}

/** §1.9.6: the dynamic loss scaler's counters against the run's (a warning: the cur_iter rule is inferred, research §7). */
function lossScalerProblem(optim: OptimInfo | undefined, ref: ModelInfo | undefined, tolerance: number): string | undefined {
  const s = attrs(optim?.osd.get("loss_scaler"));
  if (!s || s.get("dynamic") !== true) return undefined;
  const curIter = intOf(s.get("cur_iter"));
  const lastOverflow = intOf(s.get("last_overflow_iter"));
  if (curIter !== undefined && lastOverflow !== undefined && lastOverflow > curIter) return `last_overflow_iter ${lastOverflow} is after cur_iter ${curIter}`;
  if (ref?.skipped !== undefined && ref.skipped > 0 && lastOverflow !== undefined && lastOverflow < 0) {
    return `skipped_steps is ${ref.skipped} but the scaler records no overflow (last_overflow_iter ${lastOverflow})`;
  }
  if (curIter !== undefined && ref?.globalSteps !== undefined && Math.abs(curIter - ref.globalSteps) > tolerance) {
    return `cur_iter ${curIter} but global_steps ${ref.globalSteps}`;
  }
  return undefined; // cur_scale is judged by the scaler check
}
