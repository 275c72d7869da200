import type { StorageRef } from "../pickle/values.js";

/**
 * The storages a pickle references, by key, in the order first seen. torch
 * numbers them "0", "1", "2", ...: those live in an array (a Map of two
 * hundred thousand fresh strings was a sixth of the decode of a
 * mixture-of-experts optimizer state); any other key in a Map.
 */
export class StorageTable implements ReadonlyMap<string, StorageRef> {
  /** indexed[i] is key String(i), for the keys 0, 1, ... as long as they come in that order. */
  private readonly indexed: StorageRef[] = [];
  private readonly named = new Map<string, StorageRef>();
  /**
   * The order of insertion, kept only once a key outside `indexed` arrives (until then it is
   * `indexed`'s order): every key of a torch file is numbered, so this usually stays unmade.
   */
  private order: { key: string; ref: StorageRef }[] | undefined;

  get size(): number {
    return this.order ? this.order.length : this.indexed.length;
  }

  get(key: string): StorageRef | undefined {
    const i = decimalIndex(key);
    return i >= 0 && i < this.indexed.length ? this.indexed[i] : this.named.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Adds or replaces (readers only add); a replaced key keeps its place in the order. */
  set(key: string, ref: StorageRef): this {
    const i = decimalIndex(key);
    if (i >= 0 && i < this.indexed.length) {
      this.indexed[i] = ref;
      if (this.order) this.order.find((e) => e.key === key)!.ref = ref;
    } else if (i === this.indexed.length && !this.named.has(key)) {
      this.indexed.push(ref);
      this.order?.push({ key, ref });
    } else {
      this.order ??= this.indexed.map((r, k) => ({ key: String(k), ref: r }));
      const known = this.named.has(key);
      this.named.set(key, ref);
      if (known) this.order.find((e) => e.key === key)!.ref = ref;
      else this.order.push({ key, ref });
    }
    return this;
  }

  /** Every storage in the order first seen, as an array (loops over hundreds of thousands: no iterator). */
  refs(): readonly StorageRef[] {
    return this.order ? this.order.map((e) => e.ref) : this.indexed;
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<StorageRef> {
    if (!this.order) yield* this.indexed;
    else for (const e of this.order) yield e.ref;
  }

  *entries(): IterableIterator<[string, StorageRef]> {
    if (!this.order) for (let i = 0; i < this.indexed.length; i++) yield [String(i), this.indexed[i]!];
    else for (const e of this.order) yield [e.key, e.ref];
  }

  [Symbol.iterator](): IterableIterator<[string, StorageRef]> {
    return this.entries();
  }

  forEach(fn: (value: StorageRef, key: string, map: ReadonlyMap<string, StorageRef>) => void): void {
    for (const [key, ref] of this.entries()) fn(ref, key, this);
  }
}

/** The key as a number below 10^9 when it is a canonical decimal ("0", "17"; not "017" or "+1"), else -1: torch's storage keys. */
export function decimalIndex(key: string): number {
  const n = key.length;
  if (n === 0 || n > 9 || (n > 1 && key.charCodeAt(0) === 0x30)) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}
