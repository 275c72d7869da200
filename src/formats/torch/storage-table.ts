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
  private readonly order: StorageRef[] = [];
  private readonly keyOrder: string[] = [];

  get size(): number {
    return this.order.length;
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
    const known = this.get(key);
    if (i >= 0 && i < this.indexed.length) this.indexed[i] = ref;
    else if (i === this.indexed.length && !this.named.has(key)) this.indexed.push(ref);
    else this.named.set(key, ref);
    if (known === undefined) {
      this.order.push(ref);
      this.keyOrder.push(key);
    } else this.order[this.order.indexOf(known)] = ref;
    return this;
  }

  keys(): IterableIterator<string> {
    return this.keyOrder[Symbol.iterator]();
  }

  values(): IterableIterator<StorageRef> {
    return this.order[Symbol.iterator]();
  }

  *entries(): IterableIterator<[string, StorageRef]> {
    for (let i = 0; i < this.order.length; i++) yield [this.keyOrder[i]!, this.order[i]!];
  }

  [Symbol.iterator](): IterableIterator<[string, StorageRef]> {
    return this.entries();
  }

  forEach(fn: (value: StorageRef, key: string, map: ReadonlyMap<string, StorageRef>) => void): void {
    for (let i = 0; i < this.order.length; i++) fn(this.order[i]!, this.keyOrder[i]!, this);
  }
}

/** The key as an array index when it is a canonical decimal ("0", "17"; not "017" or "+1"), else -1. */
function decimalIndex(key: string): number {
  const n = key.length;
  if (n === 0 || n > 8 || (n > 1 && key.charCodeAt(0) === 0x30)) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}
