import type { VerifyOptions } from "../core/options.js";
import { locate } from "../storage/index.js";
import type { Storage } from "../storage/types.js";
import { verifyCheckpoint } from "../verify/verify.js";

export interface LatestResult {
  /** The newest checkpoint that passes, if any. */
  chosen?: string;
  /** Newer candidates that failed, newest first, each with its first problem. */
  rejected: { path: string; reason: string }[];
  /** All candidates considered, newest first. */
  candidates: string[];
}

/** The step number in a checkpoint folder's name: checkpoint-500, epoch_3, global_step1200, step=40... */
export function stepOf(name: string): number | undefined {
  // Steps before epochs: Lightning names files "epoch=3-step=400.ckpt".
  for (const word of ["global_step", "step", "checkpoint", "iter", "ckpt", "epoch"]) {
    const m = new RegExp(`${word}[-_=]?(\\d+)`, "i").exec(name);
    if (m) return Number(m[1]);
  }
  const last = /(\d+)(?!.*\d)/.exec(name);
  return last ? Number(last[1]) : undefined;
}

/**
 * Orders DIR's checkpoint entries newest first (by the step number in the
 * name, else modification time) and returns the first that passes.
 */
export async function findLatest(dir: string, options: Partial<VerifyOptions> = {}): Promise<LatestResult> {
  const { storage, stat } = await locate(dir);
  if (stat?.kind !== "directory") throw Object.assign(new Error(`${dir} is not a folder`), { code: stat ? "ENOTDIR" : "ENOENT" });
  const candidates: { path: string; step?: number; mtime: number }[] = [];
  for (const e of await storage.list("")) {
    if (e.name.startsWith(".")) continue;
    const isCkptFile = e.kind === "file" && /\.ckpt$/i.test(e.name);
    if (e.kind !== "directory" && !isCkptFile) continue;
    const info = await storage.stat(e.name).catch(() => undefined);
    if (!info) continue;
    candidates.push({ path: storage.display(e.name), step: stepOf(e.name), mtime: info.mtimeMs });
  }
  // By step number when every name has one; otherwise by modification time (e.g. Lightning's last.ckpt beside epoch=N files).
  const byStep = candidates.every((c) => c.step !== undefined);
  candidates.sort((a, b) => (byStep ? b.step! - a.step! : b.mtime - a.mtime));
  // A framework that names its resume point in a file starts from that one, whatever is newer.
  const named = await megatronTracker(storage);
  const first = named && candidates.findIndex((c) => c.path === storage.display(named.folder));
  if (named && first !== undefined && first > 0) candidates.unshift(...candidates.splice(first, 1));
  const rejected: LatestResult["rejected"] = [];
  for (const c of candidates) {
    const report = await verifyCheckpoint(c.path, options);
    if (report.exitCode === 0) return { chosen: c.path, rejected, candidates: candidates.map((x) => x.path) };
    const problem = report.checks.flatMap((ch) => ch.findings).find((f) => f.level === "error") ?? report.checks.flatMap((ch) => ch.findings).find((f) => f.level === "warn");
    const note = named && c.path === storage.display(named.folder) ? ` (${named.file} names it: point it at the checkpoint printed to resume from that one)` : "";
    rejected.push({ path: c.path, reason: `${problem ? `${problem.code}: ${problem.message}` : report.status}${note}` });
  }
  return { rejected, candidates: candidates.map((x) => x.path) };
}

/** Megatron-LM resumes from the iteration its tracker names (checkpointing.py read_metadata), not from the newest folder. */
async function megatronTracker(storage: Storage): Promise<{ file: string; folder: string } | undefined> {
  const file = "latest_checkpointed_iteration.txt";
  const info = await storage.stat(file).catch(() => undefined);
  if (info?.kind !== "file" || info.size > 4096) return undefined;
  const f = await storage.open(file).catch(() => undefined);
  if (!f) return undefined;
  try {
    const text = (await f.read(0, f.size, file)).toString("utf8").trim();
    if (text === "release") return { file, folder: "release" };
    return /^\d{1,15}$/.test(text) ? { file, folder: `iter_${text.padStart(7, "0")}` } : undefined;
  } catch {
    return undefined;
  } finally {
    await f.close();
  }
}
