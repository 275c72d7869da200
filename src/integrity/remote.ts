import { crc32 } from "node:zlib";
import { errorMessage } from "../core/errors.js";
import type { ByteSource } from "../storage/types.js";
import { MAX_CONCURRENT_STREAMS } from "../storage/remote/config.js";
import { Limiter } from "../storage/remote/limiter.js";
import { allZero } from "./zeros.js";
import { countNonFinite } from "./nonfinite.js";
import { emptySpanResult, type SpanJob, type SpanResult } from "./span.js";

/** One byte range to read once: CRC32 it (zip records) and/or count NaN/Inf in it (float tensors). */
export interface RegionJob {
  path: string;
  offset: number;
  length: number;
  crc: boolean;
  /** Float dtype to scan, if any. */
  dtype?: string;
  bigEndian: boolean;
}

export interface RegionResult {
  crc: number;
  nonFinite: number;
  bytes: number;
  /** Float regions: every element is +0 or -0. */
  zero?: boolean;
  error?: string;
}

/** Bytes staged before a CRC/NaN pass: each job's bytes start at the buffer's start, so typed-array views stay aligned. */
const CHUNK = 8 * 1024 * 1024;
/** Jobs closer than this share one stream; the bytes between them are read and dropped. */
const JOIN_GAP = 1024 * 1024;
/** A stream is cut at a job boundary past this many bytes, so one large object streams over several connections. */
const SPAN_TARGET = 256 * 1024 * 1024;

/** The thread pool's span jobs, streamed: one region per record, the results as the pool's columns. */
export async function streamSpans(source: ByteSource, jobs: SpanJob[], progress?: (bytes: number) => void): Promise<SpanResult[]> {
  const regions: RegionJob[] = [];
  for (const job of jobs) {
    for (let k = 0; k < job.starts.length; k++) {
      const dtype = job.dtypes[k];
      regions.push({ path: job.path, offset: job.starts[k]!, length: job.ends[k]! - job.starts[k]!, crc: job.crc, ...(dtype ? { dtype } : {}), bigEndian: job.bigEndian });
    }
  }
  const outcomes = await streamJobs(source, regions, progress);
  let at = 0;
  return jobs.map((job) => {
    const out = emptySpanResult(job.starts.length);
    for (let k = 0; k < job.starts.length; k++) {
      const r = outcomes[at++]!;
      out.bytes += r.bytes;
      if (r.error !== undefined) {
        // The pool's form: records from failedFrom on were not read. A stream fails from a record on, so later ones of this job are lost too.
        out.failedFrom ??= k;
        out.error ??= r.error;
        continue;
      }
      out.crc[k] = r.crc;
      out.nonFinite[k] = r.nonFinite;
      out.zero[k] = r.zero ? 1 : 0;
    }
    return out;
  });
}

/**
 * --deep over a remote object: the same jobs as the local thread pool runs,
 * fed from range streams instead of file reads. Each byte is fetched once, as
 * it arrives, and only 8 MiB per stream is held; streams run in parallel
 * (bounded by the storage). Results come back in job order.
 */
export async function streamJobs(source: ByteSource, jobs: RegionJob[], progress?: (bytes: number) => void): Promise<RegionResult[]> {
  const results: RegionResult[] = jobs.map((job) => ({ crc: 0, nonFinite: 0, bytes: 0, zero: job.dtype !== undefined }));
  const order = jobs.map((_, i) => i).filter((i) => jobs[i]!.length > 0).sort((a, b) => jobs[a]!.offset - jobs[b]!.offset);
  await Promise.all(spans(jobs, order).map((span) => inFlight.run(() => runSpan(source, jobs, span, results, progress))));
  return results;
}

/** Spans being read at once, over every object of the run: each holds an 8 MiB buffer, so memory stays at 4 of them. */
const inFlight = new Limiter(MAX_CONCURRENT_STREAMS);

/** Consecutive jobs that one range GET covers. */
function spans(jobs: RegionJob[], order: number[]): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  let start = 0;
  let end = 0;
  for (const i of order) {
    const j = jobs[i]!;
    if (current.length > 0 && (j.offset < end || j.offset - end > JOIN_GAP || end - start >= SPAN_TARGET)) {
      out.push(current);
      current = [];
    }
    if (current.length === 0) start = j.offset;
    current.push(i);
    end = j.offset + j.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function runSpan(source: ByteSource, jobs: RegionJob[], span: number[], results: RegionResult[], progress?: (bytes: number) => void): Promise<void> {
  const first = jobs[span[0]!]!;
  const last = jobs[span[span.length - 1]!]!;
  const start = first.offset;
  const end = last.offset + last.length;
  const stage = Buffer.allocUnsafeSlow(Math.min(CHUNK, end - start));
  let k = 0;
  let at = start;
  let staged = 0;
  const flush = (): void => {
    const job = jobs[span[k]!]!;
    const r = results[span[k]!]!;
    const bytes = stage.subarray(0, staged);
    if (job.crc) r.crc = crc32(bytes, r.crc);
    if (job.dtype) r.nonFinite += countNonFinite(bytes, job.dtype, job.bigEndian);
    if (r.zero) r.zero = allZero(bytes, job.dtype!, job.bigEndian);
    r.bytes += staged;
    progress?.(staged);
    staged = 0;
  };
  try {
    for await (const piece of source.stream!(start, end - start)) {
      let p = 0;
      while (p < piece.length && k < span.length) {
        const job = jobs[span[k]!]!;
        if (at < job.offset) {
          const skip = Math.min(job.offset - at, piece.length - p);
          p += skip;
          at += skip;
          continue;
        }
        const jobEnd = job.offset + job.length;
        const take = Math.min(jobEnd - at, piece.length - p, stage.length - staged);
        piece.copy(stage, staged, p, p + take);
        staged += take;
        p += take;
        at += take;
        if (staged === stage.length || at === jobEnd) flush();
        if (at === jobEnd) {
          results[span[k]!]!.crc >>>= 0;
          k++;
        }
      }
    }
    if (k < span.length) throw new Error(`the stream ended at byte ${at} of ${end}`);
  } catch (e) {
    for (let m = k; m < span.length; m++) results[span[m]!]!.error = errorMessage(e);
  }
}
