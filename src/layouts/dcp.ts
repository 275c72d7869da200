import { baseCheckpoint, leftovers } from "./common.js";
import { holdsDcp } from "./dcp/nested-format.js";
import { readDcp } from "./dcp/read.js";
import { defineLayout } from "./define.js";
import type { FileLoader } from "./file-loader.js";

/**
 * A torch.distributed.checkpoint folder on its own: FSDP or DTensor saves,
 * torchtitan's `step-N/` (whose train_state, lr_scheduler and dataloader items
 * are read too). A `.metadata` that is not a pickle and no rank files is some
 * other tool's file (Flutter and Eclipse projects write one).
 */
export const dcpLayout = defineLayout({
  name: "dcp",
  takes: ["folder"],
  detect: async (t, loader) => {
    if (t.kind !== "folder" || !holdsDcp(t.entries)) return undefined;
    const rankFiles = t.entries.some((e) => e.name.endsWith(".distcp") || /^__\d+\.metadata$/.test(e.name) || e.name === ".metadata.tmp");
    if (!rankFiles && !(await startsLikePickle(loader, ".metadata"))) return undefined;
    return /^step-\d+$/.test(t.name) ? "a torchtitan step-N folder (torch.distributed.checkpoint files)" : "torch.distributed.checkpoint files (.metadata, __R_K.distcp)";
  },
  load: async (loader, target, options) => {
    const c = baseCheckpoint("dcp", loader.root, "torch.distributed.checkpoint files");
    const n = await readDcp(loader, "", options, target.name);
    c.sharded = [n.save];
    c.expectedFiles = n.expectedFiles;
    c.stateFiles = n.stateFiles;
    c.leftovers = await leftovers(loader);
    // torchtitan (train_state present) always saves its optimizer and scheduler; a plain DCP save may keep them elsewhere.
    const titan = n.progress !== undefined;
    c.optimizer = n.optimizer ?? { state: "missing", ref: { where: "the DCP items (no dict with 'state' and 'param_groups')", required: titan } };
    c.scheduler = n.scheduler ?? (titan ? { state: "missing", ref: { where: "the DCP items (no lr_scheduler)", required: true } } : { state: "unavailable", reason: "a plain DCP save holds no LR scheduler state (its owner may keep it elsewhere)" });
    c.progress = n.progress ?? { state: "unavailable", reason: "a plain DCP save records no step counter (torchtitan's train_state.step is absent)" };
    c.scaler = { state: "unavailable", reason: "DCP saves keep no GradScaler state" };
    c.weights = { candidates: [], files: n.weights ?? [], unusable: [], missingShards: [] };
    return c;
  },
});

async function startsLikePickle(loader: FileLoader, rel: string): Promise<boolean> {
  try {
    const f = await loader.handle(rel);
    return f.size > 1 && (await f.read(0, 1, "first byte"))[0] === 0x80;
  } catch {
    return false;
  }
}
