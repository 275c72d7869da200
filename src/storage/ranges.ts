import type { ByteRange, ByteSource } from "./types.js";

/**
 * Many small ranges of one source: through its `readMany` when it has one (a remote object, which
 * merges them into few range requests), else one `read` per range, in order. A local file is read
 * record by record into one buffer instead (`readInto`, see TorchFile.readFirstValues).
 */
export async function readRanges(source: ByteSource, ranges: readonly ByteRange[], what = "data"): Promise<Buffer[]> {
  if (source.readMany) return source.readMany(ranges, what);
  const out: Buffer[] = [];
  for (const r of ranges) out.push(await source.read(r.offset, r.length, what));
  return out;
}
