import type { VerifyOptions } from "../core/options.js";
import type { DirEntry } from "../storage/types.js";
import { findDeepSpeed, readDeepSpeed } from "./deepspeed/read.js";
import { dcpNested } from "./dcp/nested-format.js";
import type { FileLoader } from "./file-loader.js";
import type { NestedFormat, NestedRead } from "./nested-types.js";

export type { NestedFormat, NestedRead } from "./nested-types.js";

/** The formats, one line each. */
export const NESTED_FORMATS: readonly NestedFormat[] = [
  { name: "deepspeed", find: findDeepSpeed, read: readDeepSpeed },
  dcpNested,
];

/** Every nested save in folder `rel` (whose listing is `entries`), read. */
export async function readNested(loader: FileLoader, rel: string, entries: DirEntry[], options: VerifyOptions): Promise<NestedRead[]> {
  const out: NestedRead[] = [];
  for (const format of NESTED_FORMATS) {
    for (const where of await format.find(loader, rel, entries)) out.push(await format.read(loader, where, options));
  }
  return out;
}

/** The first nested save's part of one kind, if any provides it. */
export function nestedPart<K extends "optimizer" | "scheduler" | "scaler" | "progress">(reads: NestedRead[], kind: K): NestedRead[K] {
  return reads.find((r) => r[kind] !== undefined)?.[kind];
}
