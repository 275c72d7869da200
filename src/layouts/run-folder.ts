import type { Resolution, Target } from "./define.js";
import type { FileLoader } from "./file-loader.js";

/** transformers trainer_utils.py `_re_checkpoint`: `^checkpoint\-(\d+)$`. */
const TRAINER_CHECKPOINT = /^checkpoint-(\d+)$/;

/**
 * Trainer.train(resume_from_checkpoint=True) resumes from
 * trainer_utils.get_last_checkpoint(output_dir): the sub-folder named
 * checkpoint-N with the largest N, complete or not.
 */
export async function resolveTrainerRun(target: Target & { kind: "folder" }): Promise<Resolution | undefined> {
  const found = target.entries
    .filter((e) => e.kind === "directory" && TRAINER_CHECKPOINT.test(e.name))
    .map((e) => ({ name: e.name, n: Number(TRAINER_CHECKPOINT.exec(e.name)![1]) }))
    .sort((a, b) => b.n - a.n);
  const [last, ...others] = found;
  if (!last) return undefined;
  return { rel: last.name, framework: "Trainer", rule: "the highest checkpoint-N, as Trainer's get_last_checkpoint picks it", others: others.map((o) => o.name) };
}

/**
 * Lightning's ckpt_path="last" (checkpoint_connector.py `_parse_ckpt_path` with
 * ModelCheckpoint._find_last_checkpoints): the most recently modified `.ckpt`
 * whose name starts with "last" in the checkpoint folder, which is the run's
 * version folder's `checkpoints/` (or the folder given).
 */
export async function resolveLightningRun(target: Target & { kind: "folder" }, loader: FileLoader): Promise<Resolution | undefined> {
  const candidates: { rel: string; mtime: number }[] = [];
  for (const dir of ["", "checkpoints"]) {
    const entries = dir === "" ? target.entries : await loader.list(dir);
    for (const e of entries) {
      if ((e.kind !== "file" && e.kind !== "directory") || !/^last.*\.ckpt$/.test(e.name)) continue;
      const rel = dir === "" ? e.name : `${dir}/${e.name}`;
      const info = await loader.stat(rel);
      if (info) candidates.push({ rel, mtime: info.mtimeMs });
    }
  }
  candidates.sort((a, b) => b.mtime - a.mtime);
  const [last, ...others] = candidates;
  if (!last) return undefined;
  return { rel: last.rel, framework: "Lightning", rule: 'the newest last*.ckpt, as Lightning\'s ckpt_path="last" picks it', others: others.map((o) => o.rel) };
}
