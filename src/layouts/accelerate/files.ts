import type { DirEntry } from "../../storage/types.js";
import type { RankFinding } from "../types.js";

/** A process index beyond this is not a real one (a name built to overflow): it is reported, never enumerated. */
const MAX_INDEX = 1 << 20;
const RNG = /^random_states_(\d+)\.pkl$/;
const CUSTOM = /^custom_checkpoint_(\d+)\.pkl$/;
const OPTIMIZER = /^optimizer(?:_(\d+))?\.bin$/;
const SCHEDULER = /^scheduler(?:_(\d+))?\.bin$/;

/** accelerate's files that no other framework writes (Trainer's are rng_state*.pth and scheduler.pt). */
export function holdsAccelerate(entries: DirEntry[]): boolean {
  return entries.some((e) => e.kind === "file" && (RNG.test(e.name) || CUSTOM.test(e.name) || SCHEDULER.test(e.name) || e.name === "sampler.bin"));
}

export interface AccelerateFiles {
  /** Process indices of random_states_{i}.pkl, sorted. */
  ranks: number[];
  custom: number[];
  optimizers: number[];
  schedulers: number[];
  /** Names whose index is not a plausible one. */
  invalid: string[];
}

/** The indexed files of a save_state folder (accelerate/checkpointing.py names; index 0 has no suffix for optimizer and scheduler). */
export function indexFiles(entries: DirEntry[]): AccelerateFiles {
  const out: AccelerateFiles = { ranks: [], custom: [], optimizers: [], schedulers: [], invalid: [] };
  for (const e of entries) {
    if (e.kind !== "file") continue;
    for (const [re, list] of [[RNG, out.ranks], [CUSTOM, out.custom], [OPTIMIZER, out.optimizers], [SCHEDULER, out.schedulers]] as const) {
      const m = re.exec(e.name);
      if (!m) continue;
      const digits = m[1] ?? "0";
      const n = digits.length <= 9 ? Number(digits) : Infinity;
      if (n < MAX_INDEX) list.push(n);
      else out.invalid.push(e.name);
    }
  }
  for (const list of [out.ranks, out.custom, out.optimizers, out.schedulers]) list.sort((a, b) => a - b);
  return out;
}

export const rngName = (i: number) => `random_states_${i}.pkl`;
export const customName = (i: number) => `custom_checkpoint_${i}.pkl`;
export const optimizerName = (i: number) => (i === 0 ? "optimizer.bin" : `optimizer_${i}.bin`);
export const schedulerName = (i: number) => (i === 0 ? "scheduler.bin" : `scheduler_${i}.bin`);

/**
 * research/distributed-layouts.md section 3.3: random_states_0..W-1 and
 * custom_checkpoint_0..K-1 contiguous, every scheduler with its optimizer.
 */
export function checkIndices(f: AccelerateFiles, optimizerElsewhere: boolean, add: (x: RankFinding) => void): void {
  if (f.invalid.length > 0) add({ level: "error", code: "ACCELERATE_INDEX_INVALID", data: { files: list(f.invalid), count: f.invalid.length }, file: f.invalid[0] });
  const gaps = (have: number[]) => {
    const top = have.length > 0 ? have[have.length - 1]! : -1;
    const set = new Set(have);
    const missing: number[] = [];
    for (let i = 0; i <= top && missing.length < 20; i++) if (!set.has(i)) missing.push(i);
    return missing;
  };
  const rngGaps = gaps(f.ranks);
  if (rngGaps.length > 0) add({ level: "error", code: "ACCELERATE_RNG_MISSING", data: { missing: list(rngGaps.map(rngName)), processes: f.ranks[f.ranks.length - 1]! + 1 }, file: rngName(rngGaps[0]!) });
  const customGaps = gaps(f.custom);
  if (customGaps.length > 0) add({ level: "error", code: "ACCELERATE_CUSTOM_MISSING", data: { missing: list(customGaps.map(customName)), count: f.custom.length }, file: customName(customGaps[0]!) });
  if (optimizerElsewhere) return;
  const opts = new Set(f.optimizers);
  const orphans = f.schedulers.filter((i) => !opts.has(i));
  if (orphans.length > 0) add({ level: "error", code: "ACCELERATE_OPTIMIZER_MISSING", data: { schedulers: list(orphans.map(schedulerName)), optimizers: list(orphans.map(optimizerName)) }, file: optimizerName(orphans[0]!) });
  const scheds = new Set(f.schedulers);
  const unscheduled = f.schedulers.length > 0 ? f.optimizers.filter((i) => !scheds.has(i)) : [];
  if (unscheduled.length > 0) add({ level: "warn", code: "ACCELERATE_SCHEDULER_MISSING", data: { optimizers: list(unscheduled.map(optimizerName)) }, file: optimizerName(unscheduled[0]!) });
}

function list(names: (string | number)[], max = 5): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}
