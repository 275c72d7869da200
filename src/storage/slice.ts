import { FormatError } from "../core/errors.js";
import type { ByteSource } from "./types.js";

/**
 * Bytes [offset, offset + length) of another source, as a source of its own
 * whose offsets start at 0: a torch.save zip stored inside a larger file
 * (each tensor slice of a DCP `.distcp` file is one). Closing it leaves the
 * outer source open. `prefetched`, when given, holds the slice's bytes already
 * read (several small slices are read in one go).
 */
export function sliceSource(outer: ByteSource, offset: number, length: number, name = `${outer.name} [${offset}..${offset + length}]`, prefetched?: Buffer): ByteSource {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > outer.size) {
    throw new FormatError("BAD_RANGE", `${name} lies outside ${outer.name} (${outer.size} bytes)`);
  }
  const slice: ByteSource = {
    name,
    size: length,
    // --deep workers read the slice's records straight from the outer file.
    ...(outer.localPath === undefined ? {} : { localPath: outer.localPath, localOffset: (outer.localOffset ?? 0) + offset }),
    // A remote object's slice streams its own range of the object (--deep).
    ...(outer.stream === undefined ? {} : { stream: (at: number, n: number) => outer.stream!(offset + at, n) }),
    bytesRead: 0,
    async read(at, n, what = "data") {
      if (!Number.isSafeInteger(at) || !Number.isSafeInteger(n) || at < 0 || n < 0) {
        throw new FormatError("BAD_RANGE", `invalid byte range for ${what}: offset ${at}, length ${n}`);
      }
      if (at + n > length) throw new FormatError("TRUNCATED", `${what} needs bytes ${at}..${at + n} but the slice has only ${length} bytes`, at);
      // Small slices read together (a DCP file's non-tensor items) are served from the one read.
      const buf = prefetched?.length === length ? prefetched.subarray(at, at + n) : await outer.read(offset + at, n, what);
      slice.bytesRead += n;
      return buf;
    },
    close: async () => undefined,
  };
  return slice;
}
