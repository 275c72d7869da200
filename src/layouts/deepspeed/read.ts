import { basename } from "node:path";
import type { VerifyOptions } from "../../core/options.js";
import type { DirEntry } from "../../storage/types.js";
import type { FileLoader } from "../file-loader.js";
import type { ExpectedFile, Part, RankFinding, SchedulerView, ShardedSave } from "../types.js";
import type { NestedRead } from "../nested-types.js";
import { hostFindings } from "./host.js";
import { MAX_RANK, isRankFileName, tagStep } from "./names.js";
import { partitionFindings } from "./partitions.js";
import { partsOf } from "./parts.js";
import { readPointer, type Pointer } from "./pointer.js";
import { agreement, completeness, counters, dimsOf, finding, type Dims } from "./rules.js";
import { summarise, type TagSummary } from "./summary.js";
import { join, readTag, type RankEntry } from "./tag.js";
import { readUniversal, type UniversalRead } from "./universal.js";
import { boolAt } from "./values.js";

/** What a DeepSpeed save provides: a NestedRead, plus the client scheduler's copy. */
export interface DeepSpeedRead extends NestedRead {
  /** A torch scheduler DeepSpeed saved a copy of: the standalone layout uses it; Trainer and Accelerate load their own file. */
  clientScheduler?: Part<SchedulerView>;
  /** The model states hold `lr_scheduler: None`: the run had no scheduler. */
  noScheduler?: boolean;
}

const GLOBAL_STEP = /^global_step\d+$/;

/** Folders under `rel` that hold a DeepSpeed save_dir: `latest`, `latest_universal`, the recovery script or global_stepN tags. */
export function findDeepSpeed(_loader: FileLoader, rel: string, entries: DirEntry[]): string[] {
  const file = (n: string) => entries.some((e) => e.name === n && e.kind === "file");
  const tags = entries.some((e) => e.kind === "directory" && GLOBAL_STEP.test(e.name));
  return file("latest") || file("latest_universal") || file("zero_to_fp32.py") || tags ? [rel] : [];
}

/** The tags wrappers use instead of global_stepN (research §1.8): Lightning's and Accelerate's. */
const WRAPPER_TAGS = ["checkpoint", "pytorch_model"];

/**
 * The tag a resume reads (research §1.4): the one `latest` names; when that
 * fails, the newest global_stepN (or a wrapper's fixed tag), checked so the
 * report says whether it could be used instead.
 */
function chooseTag(dir: string, entries: DirEntry[], latest: Pointer, universal: Pointer): { tag?: string; findings: RankFinding[] } {
  const steps = entries.filter((e) => e.kind === "directory" && GLOBAL_STEP.test(e.name)).map((e) => ({ name: e.name, step: tagStep(e.name) ?? -1 }));
  const newest = steps.sort((a, b) => b.step - a.step)[0]?.name ?? WRAPPER_TAGS.find((t) => entries.some((e) => e.kind === "directory" && e.name === t));
  const tags = entries.filter((e) => e.kind === "directory").map((e) => e.name).slice(0, 10).join(", ") || "none";
  const folder = dir === "" ? "the checkpoint folder" : dir;
  const file = join(dir, "latest");
  if (latest.state === "ok" && latest.exists) {
    const named = tagStep(latest.tag);
    const newer = named === undefined ? undefined : steps.find((s) => s.step > named);
    return { tag: latest.tag, findings: newer ? [finding("warn", "DS_LATEST_NOT_NEWEST", { file, tag: latest.tag, newest: newer.name }, file)] : [] };
  }
  if (latest.state === "missing") {
    // A folder that only holds a universal checkpoint resumes through latest_universal.
    if (universal.state !== "missing") return { findings: [] };
    return { tag: newest, findings: [finding("error", "DS_LATEST_MISSING", { folder, file: "latest", tags }, file)] };
  }
  if (latest.state === "invalid") return { tag: newest, findings: [finding("error", "DS_LATEST_INVALID", { file, reason: latest.reason }, file)] };
  return { tag: newest, findings: [finding("error", "DS_LATEST_TAG_MISSING", { file, tag: latest.tag, tags }, file)] };
}

/** Where the save is: the tag folder a resume reads and the universal pointer, with what was wrong on the way. */
interface Located {
  tagRel?: string;
  universal: Pointer;
  findings: RankFinding[];
  expectedFiles: ExpectedFile[];
}

async function locate(loader: FileLoader, dir: string, entries: DirEntry[]): Promise<Located> {
  // A folder of rank files is the tag itself: the resume passes it explicitly, so no `latest` is read.
  if (entries.some((e) => e.kind === "file" && isRankFileName(e.name))) return { tagRel: dir, universal: { state: "missing" }, findings: [], expectedFiles: [] };
  const latest = await readPointer(loader, dir, "latest", entries);
  const universal = await readPointer(loader, dir, "latest_universal", entries);
  const expectedFiles: ExpectedFile[] = [];
  for (const [p, name] of [[latest, "latest"], [universal, "latest_universal"]] as const) {
    if (p.state !== "missing") expectedFiles.push(await loader.examine({ rel: join(dir, name), role: "names the tag to resume", required: true, expect: "any" }));
  }
  const chosen = chooseTag(dir, entries, latest, universal);
  return { ...(chosen.tag !== undefined ? { tagRel: join(dir, chosen.tag) } : {}), universal, findings: chosen.findings, expectedFiles };
}

/** Reads the DeepSpeed save in folder `dir` (a save_dir, or a tag folder given directly) and judges it. */
export async function readDeepSpeed(loader: FileLoader, dir: string, options: VerifyOptions): Promise<DeepSpeedRead> {
  const entries = await loader.list(dir);
  const { tagRel, universal: pointer, findings, expectedFiles } = await locate(loader, dir, entries);
  const universal = await universalOf(loader, dir, entries, pointer, findings);
  const summary = tagRel === undefined ? universal?.summary : await summarise(await readTag(loader, tagRel, tagRel === "" ? basename(loader.root) : basename(tagRel)));
  const dims: Dims = summary ? dimsOf(summary) : {};
  if (tagRel === undefined && dims.zeroStage === undefined) dims.zeroStage = universal?.read.zeroStage;
  if (summary) findings.push(...tagFindings(summary, dims, tagRel === undefined, options.tolerance));
  if (universal) findings.push(...universal.read.findings);
  const parts = summary ? await partsOf(summary, dims) : undefined;
  if (parts) findings.push(...(await hostFindings(loader, dir, dims, parts.clientScheduler)));
  // The model states a host reads its keys from come first: the training-state check names the first file as the main one.
  const order = (e: RankEntry) => (e === dims.ref?.entry ? 0 : e.file.kind === "model" || e.file.kind === "zero-model" ? 1 : 2);
  const copies = universal && universal.summary !== summary ? universal.summary.tag.entries : [];
  const entriesRead = [...(summary?.tag.entries ?? []), ...copies].sort((a, b) => order(a) - order(b));
  expectedFiles.push(...entriesRead.map((e) => e.spec), ...(universal?.read.expectedFiles ?? []));
  const ref = dims.ref;
  const noTag = { state: "missing" as const, ref: { where: `${dir === "" ? "the checkpoint folder" : dir}: no DeepSpeed tag to read the optimizer from`, required: true } };
  return {
    save: saveOf(summary, dims, findings, universal, tagRel ?? universal?.rel),
    optimizer: tagRel === undefined && universal?.read.optimizer ? universal.read.optimizer : (parts?.optimizer ?? noTag),
    ...(parts?.dsScheduler ? { scheduler: parts.dsScheduler } : {}),
    ...(parts?.clientScheduler ? { clientScheduler: parts.clientScheduler } : {}),
    ...(parts?.scaler ? { scaler: parts.scaler } : {}),
    ...(parts?.progress ? { progress: parts.progress } : {}),
    ...(ref ? { hostState: { rel: ref.entry.rel, value: ref.dict, scalar: ref.entry.decoded!.scalar }, noScheduler: ref.dict.get("lr_scheduler") === null } : {}),
    stateFiles: [...entriesRead.flatMap((e) => (e.decoded ? [e.decoded.state] : [])), ...(universal?.read.stateFiles ?? [])],
    expectedFiles,
    weights: parts?.weights ?? [],
  };
}

function tagFindings(s: TagSummary, d: Dims, universalOnly: boolean, tolerance: number): RankFinding[] {
  const out: RankFinding[] = s.tag.badNames.map((b) => finding("error", "DS_RANK_NUMBER_INVALID", { file: b.rel, number: b.number, max: MAX_RANK }, b.rel));
  if (s.tag.entries.length === 0) return [...out, finding("error", "DS_TAG_NO_FILES", { tag: s.tag.name }, s.tag.rel || undefined)];
  return [...out, ...completeness(s, d, !universalOnly), ...agreement(s, d), ...counters(s, d, tolerance), ...partitionFindings(s, d)];
}

interface Universal {
  rel: string;
  read: UniversalRead;
  /** The model-states copies in the universal folder. */
  summary: TagSummary;
}

async function universalOf(loader: FileLoader, dir: string, entries: DirEntry[], ptr: Pointer, findings: RankFinding[]): Promise<Universal | undefined> {
  const file = join(dir, "latest_universal");
  if (ptr.state === "invalid") findings.push(finding("error", "DS_LATEST_INVALID", { file, reason: ptr.reason }, file));
  if (ptr.state !== "ok") return undefined;
  if (!ptr.exists) {
    const tags = entries.filter((e) => e.kind === "directory").map((e) => e.name).slice(0, 10).join(", ") || "none";
    findings.push(finding("error", "DS_LATEST_TAG_MISSING", { file, tag: ptr.tag, tags }, file));
    return undefined;
  }
  const rel = join(dir, ptr.tag);
  const summary = await summarise(await readTag(loader, rel, ptr.tag));
  return { rel, summary, read: await readUniversal(loader, rel, dimsOf(summary).ref) };
}

function saveOf(s: TagSummary | undefined, d: Dims, findings: RankFinding[], universal: Universal | undefined, rel: string | undefined): ShardedSave {
  const ref = d.ref;
  const world = d.dp !== undefined && d.mp !== undefined ? d.dp * d.mp : undefined;
  const config = ref?.config;
  const precision = boolAt(config, "bf16", "enabled") ? "bf16" : boolAt(config, "fp16", "enabled") ? "fp16" : config ? "fp32" : undefined;
  const parts = [
    d.zeroStage !== undefined ? (d.zeroStage === 0 ? "no ZeRO" : `ZeRO-${d.zeroStage}`) : undefined,
    precision,
    d.dp !== undefined ? `${d.dp} data-parallel x ${d.mp ?? "?"} model-parallel${world !== undefined ? ` = ${world} ranks` : ""}` : undefined,
    (d.pp ?? 1) > 1 ? `pipeline ${d.pp} x tensor ${d.tp ?? "?"}` : undefined,
    d.ep !== undefined ? `expert-parallel ${d.ep}` : undefined,
    s ? `tag ${s.tag.name}` : "no tag found",
    ref?.globalSteps !== undefined ? `global_steps ${ref.globalSteps}${ref.skipped ? ` (${ref.skipped} skipped)` : ""}` : undefined,
    universal ? `universal checkpoint ${universal.rel} (${universal.read.params} parameters)` : undefined,
  ];
  return {
    format: "deepspeed",
    rel: rel ?? "",
    ...(world !== undefined ? { worldSize: world } : {}),
    ...(d.dp !== undefined ? { dataParallel: d.dp } : {}),
    ...(d.tp !== undefined ? { tensorParallel: d.tp } : {}),
    ...(d.pp !== undefined ? { pipelineParallel: d.pp } : {}),
    ...(d.ep !== undefined ? { expertParallel: d.ep } : {}),
    ...(d.zeroStage !== undefined ? { zeroStage: d.zeroStage } : {}),
    ...(ref?.globalSteps !== undefined ? { globalStep: ref.globalSteps } : {}),
    describe: parts.filter((p) => p !== undefined).join(", "),
    findings,
  };
}
