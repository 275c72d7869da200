/**
 * Pickle decoder: protocols 0-5 into the inert values of values.ts. Nothing
 * from the file is ever executed or resolved; globals and calls are recorded
 * with their byte offsets for the safety layer. Every failure, for any input,
 * is a PickleError carrying the offset of the opcode and what was recorded
 * before it. Nothing recurses over the data, so depth cannot overflow.
 */
import { execute } from "./interpreter.js";
import { Machine } from "./machine.js";
import { PickleError } from "./pickle-error.js";
import { DEFAULT_PICKLE_LIMITS } from "./types.js";
import type { DecodedPickle, PickleLimits, PickleOptions } from "./types.js";

export { PickleError } from "./pickle-error.js";
export { DEFAULT_PICKLE_LIMITS } from "./types.js";
export type { BuildRecord, DecodedPickle, PickleLimits, PickleOptions, PicklePartial, ReduceHook } from "./types.js";

/** Decodes one pickle starting at `start` (offsets in the result are indices into `bytes`). */
export function decodePickle(bytes: Uint8Array, start = 0, options: PickleOptions = {}): DecodedPickle {
  return decodeOne(bytes, start, options, resolveLimits(options.limits));
}

/** Raw pickle files: decode stream after stream while bytes remain after STOP (a malicious second stream hides there). */
export interface PickleStreams {
  streams: DecodedPickle[];
  /** Why decoding stopped before the end of the data, if it did. */
  error?: PickleError;
  /** Bytes after the last good STOP that were not a decodable stream (all of them if no stream decoded). */
  trailingBytes: number;
}

/** At least one stream is attempted; the opcode limit applies to all streams together. */
export function decodePickleStreams(bytes: Uint8Array, options: PickleOptions = {}): PickleStreams {
  const limits = resolveLimits(options.limits);
  const streams: DecodedPickle[] = [];
  let pos = 0;
  let opcodesLeft = limits.maxOpcodes;
  do {
    try {
      const d = decodeOne(bytes, pos, options, { ...limits, maxOpcodes: opcodesLeft });
      streams.push(d);
      opcodesLeft -= d.opcodes;
      pos = d.end;
    } catch (e) {
      const error = e instanceof PickleError ? e : new PickleError("PICKLE_INTERNAL", String(e), pos);
      return { streams, error, trailingBytes: bytes.length - pos };
    }
  } while (pos < bytes.length);
  return { streams, trailingBytes: 0 };
}

function decodeOne(bytes: Uint8Array, start: number, options: PickleOptions, limits: PickleLimits): DecodedPickle {
  if (!Number.isInteger(start) || start < 0 || start > bytes.length) {
    throw new PickleError("PICKLE_BAD_VALUE", `start offset ${start} is outside the ${bytes.length} bytes given`, 0);
  }
  const m = new Machine(bytes, start, limits, options);
  let value;
  try {
    value = execute(m);
  } catch (e) {
    throw m.wrap(e);
  }
  return {
    value,
    protocol: m.protocol,
    start,
    end: m.pos,
    opcodes: m.opcodes,
    globals: m.globals,
    calls: m.calls,
    builds: m.builds,
  };
}

function resolveLimits(given: Partial<PickleLimits> | undefined): PickleLimits {
  const out: PickleLimits = { ...DEFAULT_PICKLE_LIMITS };
  if (given) {
    for (const key of Object.keys(DEFAULT_PICKLE_LIMITS) as (keyof PickleLimits)[]) {
      const v = given[key];
      if (typeof v === "number" && v >= 0) out[key] = v;
    }
  }
  return out;
}
