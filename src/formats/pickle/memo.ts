import type { MemoRefs } from "./memo-refs.js";
import type { PyValue } from "./values.js";

/**
 * The unpickler's memo. `size` counts distinct keys stored (MEMOIZE's next key
 * and the maxMemo limit); `get` is undefined for a key never stored.
 */
export interface Memo {
  readonly size: number;
  get(key: number): PyValue | undefined;
  put(key: number, value: PyValue): void;
  /** Whether put(key) keeps its value (else a caller may pass any value: it is counted, not kept). */
  wants(key: number): boolean;
}

/**
 * Every value kept. Keys are almost always 0, 1, 2...: those live in an array (a
 * Map of millions of entries was most of the decode time); any other key in a Map.
 */
export class FullMemo implements Memo {
  private readonly dense: PyValue[] = [];
  private readonly sparse = new Map<number, PyValue>();
  size = 0;

  get(key: number): PyValue | undefined {
    return key < this.dense.length ? this.dense[key] : this.sparse.get(key);
  }

  wants(): boolean {
    return true;
  }

  put(key: number, value: PyValue): void {
    const dense = this.dense;
    if (key < dense.length) {
      dense[key] = value;
    } else if (key === dense.length) {
      dense.push(value);
      if (this.sparse.size === 0 || !this.sparse.delete(key)) this.size++;
    } else {
      const before = this.sparse.size;
      this.sparse.set(key, value);
      if (this.sparse.size > before) this.size++;
    }
  }
}

/**
 * Only the values some GET reads back (memo-refs.ts) are kept; every key still
 * counts, exactly as FullMemo counts them. torch memoizes seven values per
 * tensor and reads back a handful in all: a memo holding every one kept every
 * intermediate tuple of a large pickle alive, and grew an array of millions of
 * slots, copied at every growth, that only a full collection frees.
 */
export class ReferencedMemo implements Memo {
  private dense = 0;
  private readonly sparse = new Set<number>();
  private readonly kept = new Map<number, PyValue>();
  size = 0;

  constructor(private readonly refs: MemoRefs) {}

  get(key: number): PyValue | undefined {
    return this.kept.get(key);
  }

  wants(key: number): boolean {
    return this.refs.has(key);
  }

  put(key: number, value: PyValue): void {
    if (key === this.dense) {
      this.dense++;
      if (this.sparse.size === 0 || !this.sparse.delete(key)) this.size++;
    } else if (key > this.dense) {
      const before = this.sparse.size;
      this.sparse.add(key);
      if (this.sparse.size > before) this.size++;
    }
    if (this.refs.has(key)) this.kept.set(key, value);
  }
}
