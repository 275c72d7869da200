import { posix } from "node:path";
import type { DirEntry, EntryStat } from "../../storage/types.js";
import type { RankFinding } from "../types.js";
import type { DcpMetadata, StorageEntry } from "./metadata.js";

/** A rank number beyond this is not a real rank (a name built to overflow): it counts for nothing. */
export const MAX_RANK = 1 << 20;
const RANK_FILE = /^__(\d{1,9})_(\d{1,9})\.distcp$/;

export interface FileFacts {
  /** Ranks whose files the save holds (referenced files, and the empty files of ranks that had nothing to write). */
  ranks: number[];
  files: number;
  bytes: number;
  /**
   * Files that may be the safetensors serialization (one blob per file: every item at one offset),
   * with the tiling finding to report if they turn out not to be.
   */
  safetensorsFiles: { path: string; size: number; unlessSafetensors?: RankFinding }[];
  /** Entries inside files that exist, with their path from the checkpoint root: safe to read. */
  usable: (StorageEntry & { path: string })[];
}

/**
 * Where every item lives (research/distributed-layouts.md section 2.5.3-2.5.7):
 * each chunk and bytes item has exactly one storage entry; each entry lies in
 * a file that exists; the entries of a file tile it from byte 0 to its end;
 * no `.distcp` file is left unreferenced.
 */
export async function checkFiles(md: DcpMetadata, rel: string, entries: DirEntry[], stat: (rel: string) => Promise<EntryStat | undefined>, add: (f: RankFinding) => void): Promise<FileFacts> {
  const metaFile = posix.join(rel, ".metadata");
  checkIndex(md, metaFile, add);
  const byFile = new Map<string, StorageEntry[]>();
  const safe = new Map<string, boolean>();
  for (const e of md.storage) {
    let ok = safe.get(e.file);
    if (ok === undefined) safe.set(e.file, (ok = safeName(e.file)));
    if (!ok) {
      add({ level: "error", code: "DCP_RANGE_INVALID", data: { fqn: e.fqn, file: e.file, reason: "its relative_path leads outside the checkpoint folder; it was not opened" }, file: metaFile });
      continue;
    }
    const list = byFile.get(e.file);
    if (list) list.push(e);
    else byFile.set(e.file, [e]);
  }
  const facts: FileFacts = { ranks: [], files: byFile.size, bytes: 0, safetensorsFiles: [], usable: [] };
  const infos = new Map(await Promise.all([...byFile.keys()].map(async (name) => [name, await stat(posix.join(rel, name))] as const)));
  for (const [name, list] of byFile) {
    const where = posix.join(rel, name);
    const info = infos.get(name);
    if (!info || info.kind !== "file") {
      const reason = info ? `it is a ${info.kind}, not a file` : "it does not exist";
      add({ level: "error", code: "DCP_FILE_MISSING", data: { file: where, reason, count: list.length, example: list[0]!.fqn }, file: where });
      continue;
    }
    facts.bytes += info.size;
    checkRanges(where, list, info.size, add, facts, md);
    for (const e of list) if (e.length > 0 && e.start + e.length <= info.size) facts.usable.push({ ...e, path: where });
  }
  const ranks = new Set<number>();
  for (const name of byFile.keys()) {
    const r = rankOf(name);
    if (r !== undefined) ranks.add(r);
  }
  const leftovers: string[] = [];
  for (const e of entries) {
    if (e.kind !== "file" || !e.name.endsWith(".distcp") || byFile.has(e.name)) continue;
    const size = (await stat(posix.join(rel, e.name)))?.size ?? 0;
    // A rank with nothing to write after deduplication still opens (and leaves empty) its file.
    if (size === 0 && rankOf(e.name) !== undefined) ranks.add(rankOf(e.name)!);
    else if (size > 0) leftovers.push(e.name);
  }
  if (leftovers.length > 0) {
    add({ level: "warn", code: "DCP_FILE_UNREFERENCED", data: { files: listText(leftovers), count: leftovers.length }, file: posix.join(rel, leftovers[0]!) });
  }
  facts.ranks = [...ranks].sort((a, b) => a - b);
  return facts;
}

/** The rank in `__R_K.distcp`, if R is a plausible rank number. */
export function rankOf(name: string): number | undefined {
  const m = RANK_FILE.exec(name);
  const r = m ? Number(m[1]) : undefined;
  return r !== undefined && r < MAX_RANK ? r : undefined;
}

/** Each chunk and bytes item has its entry; an entry that matches nothing is reported too (the loader ignores it). */
function checkIndex(md: DcpMetadata, file: string, add: (f: RankFinding) => void): void {
  const unmatched = new Map<string, StorageEntry>();
  for (const e of md.storage) unmatched.set(entryKey(e.fqn, e.offset), e);
  const found = new Set<string>();
  let missing = 0;
  let example = "";
  for (const item of md.items.values()) {
    const wanted = item.kind === "bytes" ? [entryKey(item.fqn)] : item.chunks.map((c) => entryKey(item.fqn, c.offsets));
    for (const k of wanted) {
      if (unmatched.delete(k) || found.has(k)) {
        found.add(k);
        continue;
      }
      if (missing++ === 0) example = item.kind === "bytes" ? item.fqn : `${item.fqn} at [${k.slice(item.fqn.length + 1)}]`;
    }
  }
  if (missing > 0) add({ level: "error", code: "DCP_STORAGE_MISSING", data: { count: missing, example }, file });
  if (unmatched.size > 0) add({ level: "warn", code: "DCP_STORAGE_UNKNOWN", data: { count: unmatched.size, example: unmatched.values().next().value!.fqn }, file });
}

function entryKey(fqn: string, offset?: number[]): string {
  return offset ? `${fqn}\0${offset.join(",")}` : `${fqn}\0-`;
}

/** Every entry inside the file, and (plain torch.save items) the entries tiling it exactly. */
function checkRanges(file: string, list: StorageEntry[], size: number, add: (f: RankFinding) => void, facts: FileFacts, md: DcpMetadata): void {
  const outside = list.filter((e) => e.start + e.length > size);
  const empty = list.filter((e) => e.length === 0);
  if (outside.length > 0) {
    const e = outside.sort((a, b) => a.start - b.start)[0]!;
    add({ level: "error", code: "DCP_RANGE_OUTSIDE_FILE", data: { file, fqn: e.fqn, start: e.start, end: e.start + e.length, size, count: outside.length }, file });
    return;
  }
  if (empty.length > 0) {
    add({ level: "error", code: "DCP_RANGE_INVALID", data: { fqn: empty[0]!.fqn, file, reason: "its length is 0, but every item is a complete torch.save archive" }, file });
    return;
  }
  if (list.some((e) => e.transformed)) return; // encoded bytes: only their bounds can be checked
  if (list.length > 1 && list.every((e) => e.start === list[0]!.start)) {
    facts.safetensorsFiles.push({ path: file, size });
    return;
  }
  const problem = tiling(file, list, size);
  // One tensor item that does not fill its file may be a one-tensor safetensors blob: looked at before judging.
  if (problem && list.length === 1 && md.items.get(list[0]!.fqn)?.kind === "tensor") facts.safetensorsFiles.push({ path: file, size, unlessSafetensors: problem });
  else if (problem) add(problem);
}

function tiling(file: string, list: StorageEntry[], size: number): RankFinding | undefined {
  const sorted = [...list].sort((a, b) => a.start - b.start);
  let end = 0;
  for (const e of sorted) {
    if (e.start !== end) {
      const reason = e.start > end ? `bytes ${end}..${e.start} belong to no item (before ${e.fqn})` : `${e.fqn} starts at byte ${e.start}, inside the previous item (which ends at ${end})`;
      return { level: "error", code: "DCP_FILE_TILING", data: { file, reason }, file };
    }
    end = e.start + e.length;
  }
  return end === size ? undefined : { level: "error", code: "DCP_FILE_TILING", data: { file, reason: `${size - end} bytes after the last item (${end}..${size}) belong to no item` }, file };
}

/** A relative_path torch joins to the folder: it must stay inside it. */
function safeName(name: string): boolean {
  if (name.length === 0 || name.length > 1024 || name.includes("\\") || name.includes("\0") || posix.isAbsolute(name)) return false;
  const n = posix.normalize(name);
  return n !== "." && !n.startsWith("../") && n !== "..";
}

export function listText(names: string[], max = 5): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}
