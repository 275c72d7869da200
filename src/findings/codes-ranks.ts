import type { CodeDoc } from "./code-doc.js";

/** The ranks check: multi-rank saves (DeepSpeed, torch.distributed.checkpoint, Accelerate, Megatron-LM). */
export const RANKS_CODES = {
  RANKS_SUMMARY: { message: "{format} save in {where}: {describe}", why: "A resume needs every rank's files from one complete save, and the same world size (or a format that can reshard).", fix: "Nothing." },
  RANKS_CONSISTENT: { message: "{format} save in {where}: every rank's files present and in agreement", why: "No rank's shard is missing, stale or from another step.", fix: "Nothing." },
} as const satisfies Record<string, CodeDoc>;
