import { crc32 } from "node:zlib";
import { errorMessage } from "../core/errors.js";
import { PyCall, PyDict, PyList, PyTuple, Tensor, type PyValue } from "../formats/pickle/values.js";
import type { SafetensorsFile } from "../formats/safetensors/index.js";
import type { TorchFile } from "../formats/torch/reader.js";
import { storageRecord } from "../formats/torch/zip-layout.js";
import type { ByteSource } from "../storage/types.js";
import { dataOffsetAt, prefetchDataOffsets, readEntry, type ZipArchive } from "../formats/zip/index.js";
import { INLINE_RECORD, scanInline } from "./inline.js";
import { SCANNED_DTYPES, countNonFinite } from "./nonfinite.js";
import { allZero } from "./zeros.js";
import { runJobs } from "./pool.js";
import { streamSpans } from "./remote.js";
import type { SpanJob, SpanResult } from "./span.js";

export interface IntegrityResult {
  rel: string;
  bytesRead: number;
  recordsChecked: number;
  /** Records whose CRC32 field is 0 (torch's set_crc32_options(False)): not checkable. */
  crcNotRecorded: number;
  crcMismatches: { record: string; expected: number; actual: number }[];
  nonFinite: { tensor: string; dtype: string; count: number }[];
  /** Float tensors (by key path) whose every element is zero: the optimizer-health check pairs exp_avg_sq with exp_avg. */
  allZero: string[];
  readErrors: { where: string; reason: string }[];
}

export type Progress = (bytes: number) => void;
/** --shard: whether the record at [offset, offset + length) of this file is this process's to read. */
export type Select = (offset: number, length: number) => boolean;
const everything: Select = () => true;

/** A span job covers consecutive records up to this many bytes, so several threads share a file. */
const JOB_BYTES = 32 * 1024 * 1024;

/**
 * What --deep reads in one file: its records as span jobs, and how their
 * results become the file's IntegrityResult. Plans of several files run in
 * one pool (runPlans), so a checkpoint of many small files uses every core.
 */
export interface ScanPlan {
  result: IntegrityResult;
  jobs: SpanJob[];
  /** A remote file (no local path): its jobs are streamed from here (remote.ts) instead of read by the thread pool. */
  source?: ByteSource;
  /** Work for this thread (a zip's small records, inline.ts), run while the pool's threads take the jobs. */
  local?: { bytes: number; run(): Promise<void> };
  finish(results: SpanResult[]): void;
}

/** One record of a plan: where its bytes are; `id` names it through the plan's Labels. */
interface Rec {
  start: number;
  end: number;
  dtype: string;
  /** The expected CRC32 (zip records; 0 = not recorded), or undefined for none. */
  crc?: number;
  id: number;
}

/** Names made only for the records a finding is about: hundreds of thousands of records, a handful of findings. */
interface Labels {
  where(id: number): string;
  /** The tensor a record holds, for NaN/Inf findings. */
  tensor(id: number): string;
}

function emptyResult(rel: string): IntegrityResult {
  return { rel, bytesRead: 0, recordsChecked: 0, crcNotRecorded: 0, crcMismatches: [], nonFinite: [], allZero: [], readErrors: [] };
}

/** Every zip record's CRC32 against the central directory, and a NaN/Inf scan of every float storage. */
export async function scanTorchFile(rel: string, tf: TorchFile, progress?: Progress, select: Select = everything): Promise<IntegrityResult> {
  return (await runPlans([await planTorchFile(rel, tf, progress, select)], progress))[0]!;
}

/** Every tensor's byte range, read once, with a NaN/Inf scan of float tensors. */
export async function scanSafetensors(rel: string, source: ByteSource, st: SafetensorsFile, progress?: Progress, select: Select = everything): Promise<IntegrityResult> {
  return (await runPlans([planSafetensors(rel, source, st, select)], progress))[0]!;
}

/**
 * Runs the local plans' jobs in one pool and streams the remote plans' jobs (all at once, the
 * storage bounding the streams); returns each file's result, in plan order.
 */
export async function runPlans(plans: ScanPlan[], progress?: Progress): Promise<IntegrityResult[]> {
  const pooled = plans.filter((p) => p.source === undefined);
  const streamed = plans.filter((p) => p.source !== undefined);
  const local = {
    bytes: pooled.reduce((n, p) => n + (p.local?.bytes ?? 0), 0),
    run: async () => {
      for (const p of pooled) await p.local?.run();
    },
  };
  const [results, streams] = await Promise.all([
    runJobs(pooled.flatMap((p) => p.jobs), progress, undefined, local),
    Promise.all(streamed.map((p) => streamSpans(p.source!, p.jobs, progress))),
  ]);
  let at = 0;
  for (const p of pooled) {
    p.finish(results.slice(at, at + p.jobs.length));
    at += p.jobs.length;
  }
  streamed.forEach((p, i) => p.finish(streams[i]!));
  return plans.map((p) => p.result);
}

/** A source with no local path that can stream (a remote object, or a slice of one): --deep streams it. */
function streamedFrom(source: ByteSource): ByteSource | undefined {
  return source.localPath === undefined && source.stream ? source : undefined;
}

/**
 * `select` (--shard) picks the records this process reads, by where they lie in the file. Offsets in
 * `recs` are the source's own; a path-based job adds `base` (a torch file stored inside a larger
 * one, a DCP slice, starts there).
 */
export async function planTorchFile(rel: string, tf: TorchFile, progress?: Progress, select: Select = everything): Promise<ScanPlan> {
  const result = emptyResult(rel);
  const names = lazyStorageNames(tf.value);
  const bigEndian = tf.byteOrder === "big";
  const path = tf.file.localPath ?? tf.path;
  const remote = streamedFrom(tf.file);
  const base = remote ? 0 : (tf.file.localOffset ?? 0);
  const recs: Rec[] = [];
  const zip = tf.zip;
  if (zip) {
    const dataPrefix = `${tf.archivePrefix ? `${tf.archivePrefix}/` : ""}data/`;
    const storageOf: (string | undefined)[] = new Array(zip.count);
    const refs = tf.storages.refs();
    for (let r = 0; r < refs.length; r++) {
      const key = refs[r]!.key;
      const i = storageRecord(zip, dataPrefix, key);
      if (i >= 0) storageOf[i] = key;
    }
    const labels: Labels = {
      where: (i) => zip.nameOf(i),
      tensor: (i) => {
        const key = storageOf[i];
        return key === undefined ? zip.nameOf(i) : (names().get(key) ?? `storage ${key}`);
      },
    };
    const dtypeOf = (i: number): string => {
      const key = storageOf[i];
      const d = key === undefined ? undefined : tf.storages.get(key)?.dtype;
      return d && SCANNED_DTYPES.has(d) ? d : "";
    };
    // Small stored records are read here with their local headers (inline.ts); large ones by the pool.
    const order = byHeaderOffset(zip);
    const small: number[] = [];
    const smallBounds: number[] = [];
    const large: number[] = [];
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      if (!select(zip.localHeaderOffset[i]!, zip.compressedSize[i]!)) continue;
      if (zip.crc32[i] === 0 && zip.uncompressedSize[i]! > 0) result.crcNotRecorded++;
      if (zip.method[i] !== 0) {
        try {
          // Deflated records (other writers) are inflated whole, bounded by the zip reader's caps.
          const data = await readEntry(zip, zip.entry(i));
          result.bytesRead += zip.compressedSize[i]!;
          result.recordsChecked++;
          const actual = crc32(data) >>> 0;
          if (zip.crc32[i] !== 0 && actual !== zip.crc32[i]) result.crcMismatches.push({ record: labels.where(i), expected: zip.crc32[i]!, actual });
          const dtype = dtypeOf(i);
          const bad = dtype ? countNonFinite(data, dtype, bigEndian) : 0;
          if (bad > 0) result.nonFinite.push({ tensor: labels.tensor(i), dtype, count: bad });
          if (dtype && allZero(data, dtype, bigEndian)) result.allZero.push(labels.tensor(i));
          progress?.(zip.compressedSize[i]!);
        } catch (e) {
          result.readErrors.push({ where: labels.where(i), reason: errorMessage(e) });
        }
      } else if (!remote && zip.compressedSize[i]! <= INLINE_RECORD) {
        small.push(i);
        // Where the next record of the archive starts (selected or not), so a span never reads past this one.
        smallBounds.push(k + 1 < order.length ? zip.localHeaderOffset[order[k + 1]!]! : zip.directoryOffset);
      } else large.push(i);
    }
    // Run by runPlans in this thread while the pool's threads take the jobs (safetensors shards, large records).
    const local = async (): Promise<void> => {
      const inline = await scanInline(zip, small, Float64Array.from(smallBounds), small.map(dtypeOf), bigEndian, progress);
      result.bytesRead += inline.result.bytes;
      small.forEach((i, m) => {
        const failed = inline.failed.get(i);
        if (failed !== undefined) return void result.readErrors.push({ where: labels.where(i), reason: failed });
        result.recordsChecked++;
        if (zip.crc32[i] !== 0 && inline.result.crc[m] !== zip.crc32[i]) result.crcMismatches.push({ record: labels.where(i), expected: zip.crc32[i]!, actual: inline.result.crc[m]! });
        if (inline.result.nonFinite[m]! > 0) result.nonFinite.push({ tensor: labels.tensor(i), dtype: dtypeOf(i), count: inline.result.nonFinite[m]! });
        if (inline.result.zero[m]) result.allZero.push(labels.tensor(i));
      });
    };
    let localBytes = 0;
    for (const i of small) localBytes += zip.compressedSize[i]!;
    await prefetchDataOffsets(zip, large);
    for (const i of large) {
      try {
        // Known after the prefetch, unless its local header is bad (read again then, for the precise error).
        const start = zip.dataOffset[i]! >= 0 ? zip.dataOffset[i]! : await dataOffsetAt(zip, i);
        recs.push({ start: base + start, end: base + start + zip.compressedSize[i]!, dtype: dtypeOf(i), crc: zip.crc32[i]!, id: i });
      } catch (e) {
        result.readErrors.push({ where: labels.where(i), reason: errorMessage(e) });
      }
    }
    const made = plan(result, path, recs, labels, true, bigEndian, remote);
    return small.length > 0 ? { ...made, local: { bytes: localBytes, run: local } } : made;
  }
  const keys: string[] = [];
  for (const [key, loc] of tf.locations) {
    if (!select(loc.offset, loc.length)) continue;
    const d = tf.storages.get(key)?.dtype;
    recs.push({ start: base + loc.offset, end: base + loc.offset + loc.length, dtype: d && SCANNED_DTYPES.has(d) ? d : "", id: keys.push(key) - 1 });
  }
  return plan(result, path, recs, { where: (id) => `storage ${keys[id]}`, tensor: (id) => names().get(keys[id]!) ?? `storage ${keys[id]}` }, false, bigEndian, remote);
}

export function planSafetensors(rel: string, source: ByteSource, st: SafetensorsFile, select: Select = everything): ScanPlan {
  const path = source.localPath ?? source.name;
  const remote = streamedFrom(source);
  const base = remote ? 0 : (source.localOffset ?? 0);
  const recs: Rec[] = [];
  st.tensors.forEach((t, id) => {
    const start = st.dataStart + t.dataOffsets[0];
    if (!select(start, t.dataOffsets[1] - t.dataOffsets[0])) return;
    recs.push({ start: base + start, end: base + st.dataStart + t.dataOffsets[1], dtype: SCANNED_DTYPES.has(t.torchDtype) ? t.torchDtype : "", id });
  });
  const name = (id: number) => st.tensors[id]!.name;
  return plan(emptyResult(rel), path, recs, { where: name, tensor: name }, false, false, remote);
}

/** Sorts the records by offset, cuts them into span jobs, and says how the jobs' results fill `result`. */
function plan(result: IntegrityResult, path: string, recs: Rec[], labels: Labels, crc: boolean, bigEndian: boolean, source?: ByteSource): ScanPlan {
  recs.sort((a, b) => a.start - b.start);
  const groups: Rec[][] = [];
  let group: Rec[] = [];
  let bytes = 0;
  for (const r of recs) {
    if (group.length > 0 && bytes + (r.end - r.start) > JOB_BYTES) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(r);
    bytes += r.end - r.start;
  }
  if (group.length > 0) groups.push(group);
  const jobs: SpanJob[] = groups.map((g) => ({
    path,
    starts: Float64Array.from(g, (r) => r.start),
    ends: Float64Array.from(g, (r) => r.end),
    dtypes: g.map((r) => r.dtype),
    crc,
    bigEndian,
  }));
  const finish = (results: SpanResult[]) => {
    groups.forEach((g, j) => {
      const out = results[j]!;
      result.bytesRead += out.bytes;
      const failedFrom = out.failedFrom ?? g.length;
      for (let k = 0; k < failedFrom; k++) {
        const r = g[k]!;
        result.recordsChecked++;
        if (r.crc !== undefined && r.crc !== 0 && out.crc[k] !== r.crc) result.crcMismatches.push({ record: labels.where(r.id), expected: r.crc, actual: out.crc[k]! });
        if (out.nonFinite[k]! > 0) result.nonFinite.push({ tensor: labels.tensor(r.id), dtype: r.dtype, count: out.nonFinite[k]! });
        if (out.zero[k]) result.allZero.push(labels.tensor(r.id));
      }
      if (failedFrom < g.length) {
        const more = g.length - failedFrom - 1;
        result.readErrors.push({ where: `${labels.where(g[failedFrom]!.id)}${more > 0 ? ` and the ${more} records after it` : ""}`, reason: out.error ?? "not read" });
      }
    });
  };
  return { result, jobs, finish, ...(source ? { source } : {}) };
}

/**
 * Record indices in local-header order: the order torch writes them in (then no sort is needed), else
 * sorted, offset and index packed in one double for the native sort while they fit in 53 bits.
 */
function byHeaderOffset(zip: ZipArchive): Int32Array {
  const n = zip.count;
  const lho = zip.localHeaderOffset;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = lho[i - 1]! <= lho[i]!;
  if (sorted) return order;
  const scale = 2 ** Math.ceil(Math.log2(n + 1));
  if (zip.directoryOffset * scale + scale > Number.MAX_SAFE_INTEGER) return order.sort((a, b) => lho[a]! - lho[b]! || a - b);
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) packed[i] = lho[i]! * scale + i;
  packed.sort();
  for (let i = 0; i < n; i++) order[i] = packed[i]! % scale;
  return order;
}

/** storage key -> the key path of the first tensor that views it ("optimizer_state_dict.state.0.exp_avg"), walked on first use. */
function lazyStorageNames(root: PyValue): () => Map<string, string> {
  let names: Map<string, string> | undefined;
  return () => (names ??= storageNames(root));
}

function storageNames(root: PyValue): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<object>();
  const stack: [string, PyValue][] = [["", root]];
  while (stack.length > 0) {
    const [name, v] = stack.pop()!;
    if (v instanceof Tensor) {
      if (!out.has(v.storage.key)) out.set(v.storage.key, name || "(root)");
      continue;
    }
    if (v === null || typeof v !== "object" || seen.has(v)) continue;
    seen.add(v);
    const join = (k: string) => (name ? `${name}.${k}` : k);
    if (v instanceof PyDict) for (const [k, c] of v.entries()) stack.push([join(String(k)), c]);
    else if (v instanceof PyList || v instanceof PyTuple) v.items.forEach((c, i) => stack.push([join(String(i)), c]));
    else if (v instanceof PyCall) v.args.forEach((c, i) => stack.push([join(`arg${i}`), c]));
  }
  return out;
}
