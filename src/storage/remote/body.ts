import type { Readable } from "node:stream";
import { describeError, remoteError } from "./errors.js";
import { backoffMs, sleep, streams } from "./limiter.js";

/** Attempts to resume a --deep stream that broke in the middle (each from where it stopped). */
const STREAM_RESUMES = 3;

/**
 * A response body's chunks, abandoned when no byte arrives for `idleMs`: a
 * server that sends headers and then stalls must end in a finding, not a hang.
 */
export async function* chunksOf(body: Readable, idleMs: number, object: string): AsyncGenerator<Buffer> {
  const timer = setTimeout(() => body.destroy(remoteError("TIMEOUT", object, `no data for ${idleMs / 1000} s in the middle of a response`)), idleMs);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      timer.refresh();
      yield chunk;
    }
  } finally {
    clearTimeout(timer);
    body.destroy();
  }
}

/** The whole body, which must be exactly `length` bytes (never more is kept). */
export async function readBody(body: Readable, length: number, idleMs: number, object: string): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let got = 0;
  for await (const chunk of chunksOf(body, idleMs, object)) {
    if (got + chunk.length > length) throw remoteError("FAILED", object, `the server sent more than the ${length} bytes asked for`);
    chunk.copy(out, got);
    got += chunk.length;
  }
  if (got !== length) throw remoteError("FAILED", object, `the response ended after ${got} of ${length} bytes`);
  return out;
}

/**
 * --deep: one GET for the whole range, yielded as it arrives and resumed
 * from where it stopped if the connection breaks (a changed object, a
 * refusal or a missing object ends it at once). A broken stream is the scan's
 * finding (a record it could not read), so it is not logged as a failed read too.
 */
export async function* streamRange(send: (start: number, end: number) => Promise<Readable>, start: number, end: number, timeout: number, name: string): AsyncGenerator<Buffer> {
  const release = await streams.acquire();
  try {
    let at = start;
    for (let attempt = 1; at < end; attempt++) {
      try {
        for await (const chunk of chunksOf(await send(at, end), timeout, name)) {
          const part = chunk.length > end - at ? chunk.subarray(0, end - at) : chunk;
          at += part.length;
          yield part;
          if (at >= end) break;
        }
        if (at < end) throw remoteError("FAILED", name, `the response ended at byte ${at} of ${end}`);
      } catch (e) {
        const err = describeError(e, name, undefined, timeout);
        if (attempt > STREAM_RESUMES || err.code === "REMOTE_CHANGED" || err.code === "REMOTE_DENIED" || err.code === "REMOTE_NOT_FOUND") throw err;
        await sleep(backoffMs(attempt));
      }
    }
  } finally {
    release();
  }
}
