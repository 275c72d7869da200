/**
 * The bytes of one remote object that a run has asked for, fetched with as
 * few requests as the reads allow and never twice. Reads are kept in blocks
 * of 8 KiB: the reads asked for in one turn of the event loop are gathered,
 * their missing blocks grouped into runs (runs closer than 64 KiB are joined,
 * gap included) and each run is one range request. A block asked for again
 * waits for the request already made. Reads of more than 1 MiB (a large
 * pickle, a long header) take what is already held and fetch only the rest,
 * without keeping it: the reader holds those bytes itself.
 */

export const BLOCK = 8 * 1024;
const JOIN_GAP_BLOCKS = 8;
const MAX_RUN_BLOCKS = (8 * 1024 * 1024) / BLOCK;
const CACHED_READ_MAX = 1024 * 1024;

/** Fetches bytes [start, end) of the object: exactly end - start bytes, or a FormatError. */
export type FetchRange = (start: number, end: number) => Promise<Buffer>;

interface Deferred {
  promise: Promise<Buffer>;
  resolve: (b: Buffer) => void;
  reject: (e: unknown) => void;
}

export class RangeCache {
  private readonly blocks = new Map<number, Promise<Buffer>>();
  private missing = new Map<number, Deferred>();
  private flushing = false;

  constructor(
    private readonly size: number,
    private readonly fetch: FetchRange,
  ) {}

  /** Bytes [offset, offset + length), which the caller has checked lie inside the object. */
  async read(offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((offset + length - 1) / BLOCK);
    const parts = length > CACHED_READ_MAX ? this.uncached(first, last) : this.want(first, last);
    const joined = Buffer.concat(await Promise.all(parts));
    const skip = offset - first * BLOCK;
    return joined.subarray(skip, skip + length);
  }

  /** Asks for blocks without waiting for them: the head and tail of a file a reader is about to open. */
  prefetch(offset: number, length: number): void {
    if (length <= 0) return;
    for (const p of this.want(Math.floor(offset / BLOCK), Math.floor((offset + length - 1) / BLOCK))) p.catch(() => undefined);
  }

  /** The block at `index` when it is held or on its way, for a --deep stream that skips what is already here. */
  heldBlock(index: number): Promise<Buffer> | undefined {
    return this.blocks.get(index);
  }

  /** Keeps bytes that arrived with another request (the first response of an http(s) file): whole blocks only. */
  hold(start: number, bytes: Buffer): void {
    for (let b = Math.ceil(start / BLOCK); ; b++) {
      const from = b * BLOCK - start;
      const to = Math.min(from + BLOCK, bytes.length);
      if (from >= bytes.length || (to - from < BLOCK && b * BLOCK + (to - from) < this.size)) break;
      if (!this.blocks.has(b)) this.blocks.set(b, Promise.resolve(bytes.subarray(from, to)));
    }
  }

  private want(first: number, last: number): Promise<Buffer>[] {
    const out: Promise<Buffer>[] = [];
    for (let i = first; i <= last; i++) {
      let p = this.blocks.get(i);
      if (!p) {
        const d = deferred();
        this.missing.set(i, d);
        this.blocks.set(i, d.promise);
        p = d.promise;
      }
      out.push(p);
    }
    if (this.missing.size > 0 && !this.flushing) {
      this.flushing = true;
      // After this turn of the event loop, so that reads issued together (Promise.all) share requests.
      setImmediate(() => this.flush());
    }
    return out;
  }

  private flush(): void {
    this.flushing = false;
    const missing = this.missing;
    this.missing = new Map();
    const indices = [...missing.keys()].sort((a, b) => a - b);
    let i = 0;
    while (i < indices.length) {
      const start = indices[i]!;
      let end = start;
      i++;
      // Join the next wanted block when the gap is small and the run stays a sensible size.
      while (i < indices.length && indices[i]! - end <= JOIN_GAP_BLOCKS && indices[i]! - start < MAX_RUN_BLOCKS) {
        for (let g = end + 1; g < indices[i]!; g++) this.fillGap(g, missing);
        end = indices[i]!;
        i++;
      }
      this.fetchRun(start, end, missing);
    }
  }

  /** A block between two wanted ones is fetched with them, so it is held too. */
  private fillGap(index: number, missing: Map<number, Deferred>): void {
    if (this.blocks.has(index)) return;
    const d = deferred();
    d.promise.catch(() => undefined);
    missing.set(index, d);
    this.blocks.set(index, d.promise);
  }

  private fetchRun(first: number, last: number, missing: Map<number, Deferred>): void {
    const start = first * BLOCK;
    const end = Math.min(this.size, (last + 1) * BLOCK);
    this.fetch(start, end).then(
      (buf) => {
        for (let b = first; b <= last; b++) missing.get(b)?.resolve(buf.subarray((b - first) * BLOCK, Math.min(buf.length, (b - first + 1) * BLOCK)));
      },
      (e) => {
        for (let b = first; b <= last; b++) missing.get(b)?.reject(e);
      },
    );
  }

  /** Held blocks from the cache, the rest fetched in runs of at most 8 MiB and not kept. */
  private uncached(first: number, last: number): Promise<Buffer>[] {
    const out: Promise<Buffer>[] = [];
    let b = first;
    while (b <= last) {
      const held = this.blocks.get(b);
      if (held) {
        out.push(held);
        b++;
        continue;
      }
      let end = b;
      while (end + 1 <= last && !this.blocks.has(end + 1) && end + 1 - b < MAX_RUN_BLOCKS) end++;
      out.push(this.fetch(b * BLOCK, Math.min(this.size, (end + 1) * BLOCK)));
      b = end + 1;
    }
    return out;
  }
}

function deferred(): Deferred {
  let resolve!: (b: Buffer) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<Buffer>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
