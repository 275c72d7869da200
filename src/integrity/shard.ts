import type { Select } from "./scan.js";

/** --shard i/n: this process reads the i-th of n parts (0-based). */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Which records a shard reads, balanced by bytes and the same in every
 * process: the files, in the order the scan visits them, are laid end to end
 * as one span of bytes cut into n equal parts, and a record belongs to the
 * part that holds its middle byte. Each part gets its share of the bytes to
 * within one record; no record is read twice or left out.
 */
export function shardSelectors(sizes: number[], shard: Shard): Select[] {
  const total = sizes.reduce((n, s) => n + s, 0);
  let base = 0;
  return sizes.map((size) => {
    const start = base;
    base += size;
    return (offset, length) => {
      const middle = start + offset + Math.floor(length / 2);
      const part = total === 0 ? 0 : Math.min(shard.count - 1, Math.floor((middle * shard.count) / total));
      return part === shard.index;
    };
  });
}
