import type { RankFinding } from "../types.js";
import type { Chunk, TensorItem } from "./metadata.js";

/**
 * Chunk geometry of one tensor, as torch's own `_validate_global_plan` checks
 * it (research/distributed-layouts.md section 2.5.2): every chunk has the
 * tensor's number of dimensions and lies inside it, no two chunks overlap, and
 * together they cover it exactly.
 */
export function checkGeometry(item: TensorItem, file: string, budget: { pairs: number }): RankFinding[] {
  const { fqn, size, chunks } = item;
  const err = (code: RankFinding["code"], data: Record<string, unknown>): RankFinding[] => [{ level: "error", code, data: { fqn, ...data }, file }];
  for (const [i, c] of chunks.entries()) {
    if (c.offsets.length !== size.length || c.sizes.length !== size.length) {
      return err("DCP_CHUNK_INVALID", { chunk: i, reason: `it has ${c.offsets.length} offsets and ${c.sizes.length} sizes for a ${size.length}-d tensor of size [${size.join(", ")}]` });
    }
    const d = c.sizes.findIndex((s, k) => c.offsets[k]! + s > size[k]!);
    if (d !== -1) {
      return err("DCP_CHUNK_INVALID", { chunk: i, reason: `it spans ${c.offsets[d]}..${c.offsets[d]! + c.sizes[d]!} of dimension ${d}, which has ${size[d]} elements` });
    }
  }
  const overlap = firstOverlap(chunks, budget);
  if (overlap) return err("DCP_CHUNKS_OVERLAP", { a: overlap[0], b: overlap[1], at: `[${chunks[overlap[0]]!.offsets.join(", ")}]` });
  const total = volume(size);
  const covered = chunks.reduce((n, c) => n + volume(c.sizes), 0n);
  if (covered !== total) return err("DCP_CHUNKS_INCOMPLETE", { covered: covered.toString(), total: total.toString(), chunks: chunks.length });
  return [];
}

function volume(dims: number[]): bigint {
  return dims.reduce((n, d) => n * BigInt(d), 1n);
}

/**
 * The first two chunks that share an element. Chunks are swept in order of
 * their first offset and compared only while their first-dimension ranges
 * meet; `budget` caps the comparisons over the whole metadata, so a file
 * listing millions of chunks cannot make this quadratic.
 */
function firstOverlap(chunks: Chunk[], budget: { pairs: number }): [number, number] | undefined {
  const order = chunks.map((_, i) => i).filter((i) => volume(chunks[i]!.sizes) > 0n);
  order.sort((a, b) => (chunks[a]!.offsets[0] ?? 0) - (chunks[b]!.offsets[0] ?? 0));
  for (let x = 0; x < order.length; x++) {
    const a = chunks[order[x]!]!;
    const aEnd = (a.offsets[0] ?? 0) + (a.sizes[0] ?? 1);
    for (let y = x + 1; y < order.length; y++) {
      const b = chunks[order[y]!]!;
      if (a.offsets.length > 0 && b.offsets[0]! >= aEnd) break;
      if (--budget.pairs < 0) return undefined;
      if (intersect(a, b)) return [Math.min(order[x]!, order[y]!), Math.max(order[x]!, order[y]!)];
    }
  }
  return undefined;
}

function intersect(a: Chunk, b: Chunk): boolean {
  return a.offsets.every((o, d) => o < b.offsets[d]! + b.sizes[d]! && b.offsets[d]! < o + a.sizes[d]!);
}
