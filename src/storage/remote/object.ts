import { FormatError } from "../../core/errors.js";
import type { ByteRange, ByteSource } from "../types.js";
import { BLOCK, RangeCache } from "./ranges.js";

/** What a run knows about one remote object before reading it. */
export interface ObjectInfo {
  /** How it is shown: s3://bucket/key, or a URL without its query string. */
  name: string;
  size: number;
  /** Pinned on every range read (If-Match); a different one means the object changed. */
  etag?: string;
  mtimeMs: number;
}

/** The transport under a remote object: one range GET, or one streamed range GET for --deep. */
export interface ObjectTransport {
  get(start: number, end: number): Promise<Buffer>;
  stream(start: number, end: number): AsyncIterable<Buffer>;
}

const HEAD_PREFETCH = 64 * 1024;
const TAIL_PREFETCH = 128 * 1024;
/** What warm() fetches at most. */
export const WARM_BYTES = HEAD_PREFETCH + TAIL_PREFETCH;

/**
 * One object of a run, shared by every handle opened on it: its range cache
 * outlives a handle, so a file opened twice is still fetched once.
 */
export class RemoteObject {
  readonly cache: RangeCache;
  private warmed = false;

  constructor(
    readonly info: ObjectInfo,
    readonly transport: ObjectTransport,
  ) {
    this.cache = new RangeCache(info.size, (start, end) => transport.get(start, end));
  }

  /**
   * Starts fetching what every checkpoint reader reads first: the head (file
   * type, safetensors header, a torch zip's first record) and the tail (a
   * zip's end records and central directory), in one round trip.
   */
  warm(): void {
    if (this.warmed) return;
    this.warmed = true;
    const { size } = this.info;
    if (size <= HEAD_PREFETCH + TAIL_PREFETCH) return this.cache.prefetch(0, size);
    this.cache.prefetch(0, HEAD_PREFETCH);
    this.cache.prefetch(size - TAIL_PREFETCH, TAIL_PREFETCH);
  }

  open(): RemoteSource {
    return new RemoteSource(this);
  }
}

/** A handle on a remote object, with the same contract as a local file's. */
export class RemoteSource implements ByteSource {
  bytesRead = 0;

  constructor(private readonly object: RemoteObject) {}

  get name(): string {
    return this.object.info.name;
  }

  get size(): number {
    return this.object.info.size;
  }

  async read(offset: number, length: number, what = "data"): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new FormatError("BAD_RANGE", `invalid byte range for ${what}: offset ${offset}, length ${length}`);
    }
    if (offset + length > this.size) {
      throw new FormatError("TRUNCATED", `${what} needs bytes ${offset}..${offset + length} but the object has only ${this.size} bytes`, offset);
    }
    const buf = await this.object.cache.read(offset, length);
    this.bytesRead += length;
    return buf;
  }

  /**
   * Many small ranges (every optimizer `step` record) asked for in one turn of the event loop, so
   * the cache joins their blocks into a few range requests that run together: a few round trips,
   * not one per range.
   */
  readMany(ranges: readonly ByteRange[], what = "data"): Promise<Buffer[]> {
    return Promise.all(ranges.map((r) => this.read(r.offset, r.length, what)));
  }

  /**
   * --deep: bytes [offset, offset + length) as they arrive, not kept. What
   * default mode already fetched (the head, the tail, the pickle) comes from
   * the cache; only the rest is streamed, so no byte is fetched twice.
   */
  async *stream(offset: number, length: number): AsyncGenerator<Buffer> {
    const { cache, transport } = this.object;
    const end = offset + length;
    let at = offset;
    while (at < end) {
      const b = Math.floor(at / BLOCK);
      const held = cache.heldBlock(b);
      if (held) {
        const buf = await held;
        const to = Math.min(buf.length, end - b * BLOCK);
        yield buf.subarray(at - b * BLOCK, to);
        at = b * BLOCK + to;
        continue;
      }
      let next = b + 1;
      while (next * BLOCK < end && !cache.heldBlock(next)) next++;
      const runEnd = Math.min(end, next * BLOCK);
      yield* transport.stream(at, runEnd);
      at = runEnd;
    }
  }

  async close(): Promise<void> {
    // Nothing is held open: requests end with their response.
  }
}
