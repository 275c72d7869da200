import type { VerifyOptions } from "../core/options.js";
import { errorMessage } from "../core/errors.js";
import { displayPath, locate } from "../storage/index.js";
import type { Storage } from "../storage/types.js";
import { deepspeedCandidates } from "./deepspeed.js";
import { verifyCheckpoint } from "../verify/verify.js";

export interface LatestResult {
  /** The newest checkpoint that passes, if any. */
  chosen?: string;
  /** Newer candidates that failed, newest first, each with its first problem. */
  rejected: { path: string; reason: string }[];
  /** All candidates considered, newest first. */
  candidates: string[];
  /**
   * A folder or candidate that could not be read (a remote read failed): the
   * search stops there rather than pass over a newer checkpoint it never saw.
   */
  unreadable?: { path: string; reason: string };
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
 * name, else modification time, or the order a framework's own save folder
 * gives them) and returns the first that passes.
 */
export async function findLatest(dir: string, options: Partial<VerifyOptions> = {}): Promise<LatestResult> {
  let where;
  try {
    where = await locate(dir);
  } catch (e) {
    return { rejected: [], candidates: [], unreadable: { path: displayPath(dir), reason: errorMessage(e) } };
  }
  const { storage, stat } = where;
  if (stat?.kind !== "directory") throw Object.assign(new Error(`${dir} is not a folder`), { code: stat ? "ENOTDIR" : "ENOENT" });
  // A framework's own save folder: its order is the one its resume uses.
  const candidates = (await deepspeedCandidates(storage)) ?? (await byStepOrTime(storage));
  const listFailed = storage.failures?.list()[0];
  if (listFailed) return { rejected: [], candidates: [], unreadable: { path: displayPath(dir), reason: `${listFailed.object}: ${listFailed.reason}` } };
  // A framework that names its resume point in a file (Megatron's tracker) starts from that one, whatever is newer.
  const named = await megatronTracker(storage);
  const first = named ? candidates.indexOf(storage.display(named.folder)) : -1;
  if (first > 0) candidates.unshift(...candidates.splice(first, 1));
  const note = (path: string) => (named && path === storage.display(named.folder) ? ` (${named.file} names it: point it at the checkpoint printed to resume from that one)` : "");
  return pick(candidates, storage, options, note);
}

/** Checkpoint folders and .ckpt files, newest first: by the step number in the name, else modification time. */
async function byStepOrTime(storage: Storage): Promise<string[]> {
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
  return candidates.map((c) => c.path);
}

/** The first candidate that passes; the reasons the ones before it failed. */
async function pick(candidates: string[], storage: Storage, options: Partial<VerifyOptions>, note: (path: string) => string): Promise<LatestResult> {
  const rejected: LatestResult["rejected"] = [];
  for (const path of candidates) {
    const report = await verifyCheckpoint(path, options);
    if (report.exitCode === 0) return { chosen: path, rejected, candidates };
    // A throttled or refused read says nothing about the checkpoint: choosing an older one would resume from the wrong step.
    const all = report.checks.flatMap((ch) => ch.findings);
    const unread = all.find((f) => f.code === "REMOTE_READ_FAILED" || (storage.remote && f.code === "PATH_UNREADABLE"));
    if (unread) return { rejected, candidates, unreadable: { path, reason: unread.message } };
    const problem = all.find((f) => f.level === "error") ?? all.find((f) => f.level === "warn");
    rejected.push({ path, reason: `${problem ? `${problem.code}: ${problem.message}` : report.status}${note(path)}` });
  }
  return { rejected, candidates };
}

/** Megatron's tracker file: the iteration its resume loads. */
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
