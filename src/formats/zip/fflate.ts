import type { Inflate } from "fflate";

/**
 * fflate builds its Huffman tables when it is loaded (about 30 ms of a 150 ms
 * run), and torch never deflates: it is loaded on the first deflated record.
 */
let loaded: Promise<typeof Inflate> | undefined;

export function loadInflate(): Promise<typeof Inflate> {
  loaded ??= import("fflate").then((m) => m.Inflate);
  return loaded;
}
