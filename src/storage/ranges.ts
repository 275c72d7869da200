import type { ByteRange, ByteSource } from "./types.js";

/**
 * Many small ranges of one source: through its `readMany` when it has one (which may merge them
 * into fewer reads), else one `read` per range, in order. An optimizer's `step` of every parameter
 * is one small record each: a mixture-of-experts checkpoint has tens of thousands.
 */
export async function readRanges(source: ByteSource, ranges: readonly ByteRange[], what = "data"): Promise<Buffer[]> {
  if (source.readMany) return source.readMany(ranges, what);
  const out: Buffer[] = [];
  for (const r of ranges) out.push(await source.read(r.offset, r.length, what));
  return out;
}

/**
 * Groups ranges, in offset order, into spans of ranges that touch or overlap (no byte between two
 * ranges of a span is left unread, so nothing outside the ranges is read), each at most `maxSpan`
 * bytes unless one range alone is longer. Returns the spans as [start, end) and, per span, the
 * indices (into `ranges`) of the ranges it covers.
 */
export function touchingSpans(ranges: readonly ByteRange[], maxSpan: number): { start: number; end: number; members: number[] }[] {
  const order = byOffset(ranges);
  const spans: { start: number; end: number; members: number[] }[] = [];
  let cur: { start: number; end: number; members: number[] } | undefined;
  for (const i of order) {
    const r = ranges[i]!;
    const end = r.offset + r.length;
    if (cur && r.offset <= cur.end && Math.max(cur.end, end) - cur.start <= maxSpan) {
      cur.end = Math.max(cur.end, end);
      cur.members.push(i);
      continue;
    }
    cur = { start: r.offset, end, members: [i] };
    spans.push(cur);
  }
  return spans;
}

/**
 * Indices of `ranges` in offset order. Offset and index are packed into one double and sorted by the
 * typed array's native sort (tens of thousands of ranges: a comparator sort took longer than the reads);
 * when they do not fit in 53 bits, a comparator sort.
 */
function byOffset(ranges: readonly ByteRange[]): number[] {
  const n = ranges.length;
  let bits = 0;
  while (1 << bits < n) bits++;
  const scale = 2 ** bits;
  let max = 0;
  for (const r of ranges) max = Math.max(max, r.offset);
  if (max * scale + scale > Number.MAX_SAFE_INTEGER) return ranges.map((_, i) => i).sort((a, b) => ranges[a]!.offset - ranges[b]!.offset);
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) packed[i] = ranges[i]!.offset * scale + i;
  packed.sort();
  const order: number[] = new Array(n);
  for (let i = 0; i < n; i++) order[i] = packed[i]! % scale;
  return order;
}
