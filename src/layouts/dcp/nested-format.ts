import { posix } from "node:path";
import type { DirEntry } from "../../storage/types.js";
import type { FileLoader } from "../file-loader.js";
import type { NestedFormat } from "../nested-types.js";
import { readDcp } from "./read.js";

/** Accelerate's and Trainer's FSDP folders (utils/fsdp_utils.py: pytorch_model_fsdp_{i}, optimizer_{i}). */
const FSDP_FOLDER = /^(pytorch_model_fsdp|optimizer)(_\d+)?$/;

/** Files that only a DCP folder holds: its metadata (final, interrupted or per rank) or its rank files. */
export function holdsDcp(entries: DirEntry[]): boolean {
  return entries.some((e) => e.kind === "file" && (e.name === ".metadata" || e.name === ".metadata.tmp" || /^__\d+\.metadata$/.test(e.name) || /^__\d+_\d+\.distcp$/.test(e.name)));
}

/**
 * torch.distributed.checkpoint inside another layout: the folder itself (a
 * Lightning `.ckpt` folder next to its meta.pt) or FSDP's model and optimizer
 * folders (a Trainer `checkpoint-N/`, an Accelerate save_state folder).
 */
export const dcpNested: NestedFormat = {
  name: "dcp",
  async find(loader: FileLoader, rel: string, entries: DirEntry[]): Promise<string[]> {
    const out = holdsDcp(entries) ? [rel] : [];
    for (const e of entries) {
      if (e.kind !== "directory" || !FSDP_FOLDER.test(e.name)) continue;
      const sub = posix.join(rel, e.name);
      if (holdsDcp(await loader.list(sub))) out.push(sub);
    }
    return out;
  },
  read: (loader, rel, options) => readDcp(loader, rel, options, posix.basename(rel)),
};
