import { errorMessage } from "../core/errors.js";
import { dataOffsetAt, recordStartIn, type ZipArchive } from "../formats/zip/index.js";
import { emptySpanResult, measure, wordsOf, type SpanResult, type Words } from "./span.js";

/** Records up to this size are scanned here; larger ones go to the thread pool as span jobs. */
export const INLINE_RECORD = 1024 * 1024;
/** Bytes read at once: into one reused buffer from a local file, a fresh one each otherwise. */
const SPAN = 1024 * 1024;

export interface InlineScan {
  /** Per record of `records`: its measures (rows of records that failed stay 0; see `failed`). */
  result: SpanResult;
  /** Record index -> why it could not be read or checked. */
  failed: Map<number, string>;
}

/**
 * --deep for a zip's small stored records, in this thread: records that lie
 * together are read with their local headers in one read of up to 1 MiB, each
 * header checked against the central directory, each record CRC'd and
 * scanned in place. A mixture-of-experts checkpoint has hundreds of thousands
 * of records of a kilobyte: reading every header first and the bytes again,
 * or a job per record, cost more than the bytes themselves.
 *
 * `records` are sorted by local header offset; `bounds[k]` is where the next
 * record of the archive starts (or its central directory), so a span never
 * reads past what these records occupy.
 */
export async function scanInline(zip: ZipArchive, records: number[], bounds: Float64Array, dtypes: string[], bigEndian: boolean, progress?: (bytes: number) => void): Promise<InlineScan> {
  const n = records.length;
  const out: InlineScan = { result: emptySpanResult(n), failed: new Map() };
  const job = { crc: true, dtypes, bigEndian };
  let k = 0;
  let spans = 0;
  // One buffer for every span of a local file (read into), with its float views made once.
  const reused = zip.file.readInto ? Buffer.allocUnsafeSlow(SPAN + 64) : undefined;
  const reusedWords = reused && wordsOf(reused);
  while (k < n) {
    // From the 64-byte boundary before the first header: records' data keep the file's alignment in
    // the buffer (torch aligns them to 64), so the NaN/Inf scan views them as floats in place.
    const first = zip.localHeaderOffset[records[k]!]!;
    const from = first - (first % 64);
    // Only records that follow one another (no large record between them, which the pool reads).
    let j = k + 1;
    while (j < n && zip.localHeaderOffset[records[j]!] === bounds[j - 1] && bounds[j]! - from <= SPAN) j++;
    const to = Math.min(bounds[j - 1]!, zip.file.size);
    let span: Buffer;
    let words: Words | undefined;
    try {
      if (reused && to - from <= reused.length) {
        zip.file.readInto!(reused, 0, from, to - from, "zip records");
        span = reused.subarray(0, to - from);
        words = reusedWords;
      } else {
        span = await zip.file.read(from, to - from, "zip records");
        words = wordsOf(span);
      }
    } catch {
      for (let m = k; m < j; m++) await one(zip, records[m]!, m, out, job);
      k = j;
      continue;
    }
    for (let m = k; m < j; m++) {
      const i = records[m]!;
      const base = zip.localHeaderOffset[i]! - from;
      try {
        const start = recordStartIn(zip, i, span, base, Math.min(span.length, bounds[m]! - from));
        if (start < 0) await one(zip, i, m, out, job);
        else {
          measure(out.result, m, span.subarray(start, start + zip.compressedSize[i]!), job, true, words, start);
          out.result.bytes += zip.compressedSize[i]!; // the record's bytes, as the pool counts them
        }
      } catch (e) {
        out.failed.set(i, errorMessage(e));
      }
    }
    progress?.(span.length);
    k = j;
    // Now and then let the event loop run: worker threads of the pool wait for their next job on it.
    if (++spans % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  return out;
}

/** A record whose header or bytes did not fit its span (hostile layouts): its own reads. */
async function one(zip: ZipArchive, i: number, m: number, out: InlineScan, job: { crc: boolean; dtypes: string[]; bigEndian: boolean }): Promise<void> {
  try {
    const start = await dataOffsetAt(zip, i);
    const bytes = await zip.file.read(start, zip.compressedSize[i]!, `zip entry ${zip.nameOf(i)}`);
    out.result.bytes += bytes.length;
    measure(out.result, m, bytes, job, true);
  } catch (e) {
    out.failed.set(i, errorMessage(e));
  }
}
