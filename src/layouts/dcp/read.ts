import { posix } from "node:path";
import type { VerifyOptions } from "../../core/options.js";
import { formatBytes } from "../../core/units.js";
import { Tensor, type PyDict } from "../../formats/pickle/values.js";
import type { DirEntry } from "../../storage/types.js";
import type { FileLoader } from "../file-loader.js";
import type { NestedRead } from "../nested-types.js";
import type { ExpectedFile, RankFinding, ShardedSave, StateFile } from "../types.js";
import { checkFiles, listText, rankOf, type FileFacts } from "./files.js";
import { checkGeometry } from "./geometry.js";
import { MetadataShapeError, parseMetadata, type DcpMetadata, type Item } from "./metadata.js";
import { partsOf } from "./parts.js";
import { checkSafetensorsFiles } from "./safetensors.js";
import { JudgedSlices, readValues, sliceLabel } from "./values.js";

/** Findings of one kind beyond this many are counted, not listed: one broken file must not flood the report. */
const MAX_PER_CODE = 10;
/** Chunk pairs compared for overlap, over the whole metadata. */
const OVERLAP_BUDGET = 5_000_000;
const RANK_METADATA = /^__(\d{1,9})\.metadata$/;

/** A DCP read, with the rebuilt state dict for a host that reads its own items (Megatron's common state). */
export interface DcpRead extends NestedRead {
  tree?: PyDict;
  scalar?: (t: Tensor) => Promise<number | undefined>;
}

/**
 * A torch.distributed.checkpoint folder (`rel`, "" = the checkpoint root),
 * judged by research/distributed-layouts.md section 2: `.metadata` (or the
 * per-rank `__R.metadata` files) complete and decodable, chunk geometry, every
 * item's storage entry inside a file that exists, files tiled exactly, no
 * leftover rank files; the non-tensor items decoded and judged; tensor slices
 * located and bounded, and with --deep decoded, compared with their chunk and
 * CRC-checked.
 */
export async function readDcp(loader: FileLoader, rel: string, options: VerifyOptions, folderName: string): Promise<DcpRead> {
  const entries = await loader.list(rel);
  const names = new Set(entries.filter((e) => e.kind === "file").map((e) => e.name));
  const findings = collector();
  const add = findings.add;
  const at = (name: string) => posix.join(rel, name);
  const expectedFiles: ExpectedFile[] = [];
  const metaStates = new JudgedSlices(rel, "rank metadata files");
  const stateFiles: StateFile[] = [];
  let md: DcpMetadata | undefined;
  if (names.has(".metadata")) {
    if (names.has(".metadata.tmp")) add({ level: "error", code: "DCP_METADATA_TMP", data: { file: at(".metadata.tmp") }, file: at(".metadata.tmp") });
    expectedFiles.push(await loader.examine({ rel: at(".metadata"), role: "DCP metadata, written last: marks a complete save", required: true, expect: "any" }));
    const read = await readMetadataFile(loader, at(".metadata"), add);
    stateFiles.push(...read.states);
    md = read.md;
  } else {
    const perRank = entries.filter((e) => RANK_METADATA.test(e.name)).map((e) => e.name);
    if (perRank.length > 0) md = await readPerRank(loader, rel, entries, perRank, metaStates, add);
    else add({ level: "error", code: "DCP_METADATA_MISSING", data: { where: rel || "the checkpoint folder", reason: missingReason(names) }, file: at(".metadata") });
  }
  const save: ShardedSave = { format: "dcp", rel, describe: "", findings: findings.list };
  if (!md) {
    const ranks = [...names].map(rankOf).filter((r): r is number => r !== undefined);
    save.describe = `no usable metadata; ${new Set(ranks).size} rank(s) left files`;
    findings.finish();
    // The optimizer this folder holds cannot be read (a host must not fall back to a file it never wrote); a model-only FSDP folder holds none.
    const optimizer = { state: "unavailable" as const, reason: `the DCP metadata in ${rel || "the checkpoint folder"} could not be read` };
    return { save, ...(/^pytorch_model_fsdp/.test(folderName) ? {} : { optimizer }), stateFiles: [...stateFiles, ...metaStates.files()], expectedFiles };
  }
  const metaFile = at(".metadata");
  if (md.problems.length > 0) add({ level: "error", code: "DCP_METADATA_INVALID", data: { file: metaFile, reason: md.problems.slice(0, 3).join("; ") + (md.problems.length > 3 ? ` (and ${md.problems.length - 3} more)` : "") }, file: metaFile });
  const budget = { pairs: OVERLAP_BUDGET };
  for (const item of md.items.values()) if (item.kind === "tensor") checkGeometry(item, metaFile, budget).forEach(add);
  checkPlannerData(md, metaFile, add);
  if (md.items.size === 0) add({ level: "warn", code: "DCP_EMPTY", data: { file: metaFile }, file: metaFile });
  const facts = await checkFiles(md, rel, entries, (r) => loader.stat(r), add);
  await checkSafetensorsFiles(loader, facts, add);
  const values = await readValues(loader, rel, md, facts.usable, add);
  const parts = await partsOf(values.tree, rel || "DCP save", folderName, sampled(values.scalar, options.deep), add);
  if (options.deep) await checkSlices(loader, md, facts, values.judged, add);
  findings.finish();
  Object.assign(save, {
    worldSize: facts.ranks.length > 0 ? facts.ranks.length : undefined,
    dataParallel: parts.dataParallel,
    globalStep: parts.globalStep,
    describe: describe(md, facts, parts.producer, parts.globalStep, parts.dataParallel),
  });
  return {
    save,
    optimizer: parts.optimizer,
    scheduler: parts.scheduler,
    progress: parts.progress,
    stateFiles: [...stateFiles, ...metaStates.files(), ...values.judged.files()],
    expectedFiles,
    weights: parts.weights ? [parts.weights] : [],
    tree: values.tree,
    scalar: values.scalar,
  };
}

async function readMetadataFile(loader: FileLoader, rel: string, add: (f: RankFinding) => void): Promise<{ md?: DcpMetadata; states: StateFile[] }> {
  const d = await loader.decode(rel);
  if (d.state.problem || d.value === undefined) {
    const head = await firstByte(loader, rel);
    const hint = head !== undefined && head !== 0x80 ? ` (it starts with byte 0x${head.toString(16).padStart(2, "0")}, not a pickle's 0x80: Flutter and Eclipse projects also write files named .metadata)` : "";
    add({ level: "error", code: "DCP_METADATA_INVALID", data: { file: rel, reason: `${String(d.state.problem?.data["reason"] ?? "it could not be decoded")}${hint}` }, file: rel });
    return { states: [d.state] };
  }
  try {
    return { md: parseMetadata(d.value), states: [d.state] };
  } catch (e) {
    if (!(e instanceof MetadataShapeError)) throw e;
    add({ level: "error", code: "DCP_METADATA_INVALID", data: { file: rel, reason: e.message }, file: rel });
    return { states: [d.state] };
  }
}

async function firstByte(loader: FileLoader, rel: string): Promise<number | undefined> {
  try {
    const f = await loader.handle(rel);
    return f.size > 0 ? (await f.read(0, 1, "first byte"))[0] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Newest torch with use_collectives=False: each rank writes `__R.metadata`
 * for its own items. Every rank with files needs its metadata, and the
 * ranks' metadata together describe the save.
 */
async function readPerRank(loader: FileLoader, rel: string, entries: DirEntry[], files: string[], states: JudgedSlices, add: (f: RankFinding) => void): Promise<DcpMetadata | undefined> {
  const have = new Set(files.map((n) => Number(RANK_METADATA.exec(n)![1])));
  const ranksWithData = new Set(entries.map((e) => rankOf(e.name)).filter((r): r is number => r !== undefined));
  const top = Math.max(...have, ...ranksWithData);
  const missing: string[] = [];
  for (let r = 0; r <= top && missing.length < 50; r++) if (!have.has(r)) missing.push(`__${r}.metadata`);
  if (missing.length > 0) add({ level: "error", code: "DCP_RANK_METADATA_MISSING", data: { files: listText(missing), count: missing.length }, file: posix.join(rel, missing[0]!) });
  let merged: DcpMetadata | undefined;
  for (const name of files.sort((a, b) => Number(RANK_METADATA.exec(a)![1]) - Number(RANK_METADATA.exec(b)![1]))) {
    const read = await readMetadataFile(loader, posix.join(rel, name), add);
    read.states.forEach((s) => states.add(s));
    if (read.md) merged = merged ? mergeMetadata(merged, read.md) : read.md;
  }
  return merged;
}

/** Each rank's metadata lists its own chunks of a tensor: together they make the tensor's chunk list. */
function mergeMetadata(a: DcpMetadata, b: DcpMetadata): DcpMetadata {
  for (const [fqn, item] of b.items) {
    const seen = a.items.get(fqn);
    if (!seen) a.items.set(fqn, item);
    else if (seen.kind === "tensor" && item.kind === "tensor") seen.chunks.push(...item.chunks);
  }
  a.storage.push(...b.storage);
  if (b.plannerData) a.plannerData = new Map([...(a.plannerData ?? []), ...b.plannerData]);
  a.problems.push(...b.problems);
  return a;
}

function missingReason(names: Set<string>): string {
  if (names.has(".metadata.tmp")) return "only .metadata.tmp is there: the save was interrupted while its metadata was being written";
  const data = [...names].filter((n) => n.endsWith(".distcp")).length;
  return data > 0
    ? `${data} rank file(s) but no .metadata: the save did not finish (the coordinator writes .metadata after every rank's files)`
    : "no .metadata and no rank files";
}

/** planner_data maps each flat key to the path it was flattened from. */
function checkPlannerData(md: DcpMetadata, file: string, add: (f: RankFinding) => void): void {
  if (!md.plannerData) return;
  const bad: string[] = [];
  for (const fqn of md.items.keys()) {
    const path = md.plannerData.get(fqn);
    if (!path) bad.push(`${fqn} has no entry`);
    else if (path.map(String).join(".") !== fqn) bad.push(`${fqn} maps to ${path.map(String).join(".")}`);
  }
  if (bad.length > 0) add({ level: "warn", code: "DCP_PLANNER_DATA_MISMATCH", data: { count: bad.length, example: bad[0] }, file });
}

/** --deep: every tensor slice decodes to a tensor of its chunk's shape and dtype; the slices' bytes join the CRC scan. */
async function checkSlices(loader: FileLoader, md: DcpMetadata, facts: FileFacts, judged: JudgedSlices, add: (f: RankFinding) => void): Promise<void> {
  let checked = 0;
  let bad = 0;
  const skip = new Set(facts.safetensorsFiles.filter((f) => !f.unlessSafetensors).map((f) => f.path));
  for (const e of facts.usable) {
    if (!e.offset || e.transformed || skip.has(e.path)) continue;
    const item = md.items.get(e.fqn);
    const chunk = item?.kind === "tensor" ? item.chunks.find((c) => c.offsets.join(",") === e.offset!.join(",")) : undefined;
    const d = await loader.decodeSlice(e.path, e.start, e.length, sliceLabel(e));
    judged.add(d.state);
    checked++;
    const reason = d.state.problem
      ? String(d.state.problem.data["reason"] ?? "it does not decode")
      : !(d.value instanceof Tensor)
        ? "it does not hold a tensor"
        : chunk && d.value.shape.join(",") !== chunk.sizes.join(",")
          ? `it holds a tensor of shape [${d.value.shape.join(", ")}], but the metadata's chunk is [${chunk.sizes.join(", ")}]`
          : item?.kind === "tensor" && item.dtype && d.value.dtype !== item.dtype
            ? `it holds ${d.value.dtype}, but the metadata says ${item.dtype}`
            : undefined;
    if (reason) {
      bad++;
      add({ level: "error", code: "DCP_SLICE_INVALID", data: { slice: sliceLabel(e), reason }, file: e.path });
    }
  }
  if (checked > 0 && bad === 0) add({ level: "pass", code: "DCP_SLICES_OK", data: { count: checked } });
}

/** Default mode reads a few one-element step tensors, not every parameter's; --deep reads them all. */
function sampled(scalar: (t: Tensor) => Promise<number | undefined>, deep: boolean): (t: Tensor) => Promise<number | undefined> {
  let left = deep ? Infinity : 8;
  return async (t) => (left-- > 0 ? scalar(t) : undefined);
}

function describe(md: DcpMetadata, facts: FileFacts, producer: string | undefined, step: number | undefined, dp: number | undefined): string {
  const items = [...md.items.values()];
  const tensors = items.filter((i): i is Item & { kind: "tensor" } => i.kind === "tensor");
  const chunks = tensors.reduce((n, t) => n + t.chunks.length, 0);
  const era = md.module.includes("._shard.") ? ", torch 1.13 prototype" : md.version ? `, DCP ${md.version}` : "";
  const who = producer ? `; ${producer}${step !== undefined ? ` step ${step}` : ""}${dp !== undefined ? `, data-parallel degree ${dp}` : ""}` : "";
  return `${facts.ranks.length} rank(s), ${tensors.length} tensors in ${chunks} chunks and ${items.length - tensors.length} other items in ${facts.files} file(s) (${formatBytes(facts.bytes)})${era}${who}`;
}

function collector(): { list: RankFinding[]; add: (f: RankFinding) => void; finish: () => void } {
  const list: RankFinding[] = [];
  const counts = new Map<string, number>();
  return {
    list,
    add: (f) => {
      const n = (counts.get(f.code) ?? 0) + 1;
      counts.set(f.code, n);
      if (n <= MAX_PER_CODE) list.push(f);
    },
    finish: () => {
      for (const [code, n] of counts) if (n > MAX_PER_CODE) list.push({ level: "info", code: "DCP_MORE_FINDINGS", data: { code, count: n - MAX_PER_CODE } });
    },
  };
}
