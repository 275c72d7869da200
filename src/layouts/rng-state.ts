import { isDict, type PyValue } from "../formats/pickle/values.js";
import type { RankFinding } from "./types.js";

/** One rank's RNG file, decoded (value undefined when it could not be: the training-state check reports why). */
export interface RngFile {
  rel: string;
  rank: number;
  value?: PyValue;
}

/** What a framework's RNG files must hold. */
export interface RngExpectation {
  /** "Trainer", "Accelerate": who restores them, for messages. */
  framework: string;
  /** Keys every file holds (Trainer: python, numpy, cpu). */
  keys: string[];
  /** The key a GPU run adds (Trainer: cuda), required when `gpu` says the run was on GPUs. */
  gpuKey?: string;
  /** Why the run is known to be on GPUs ("training_args.bin: _n_gpu 1"); undefined when not known to be. */
  gpu?: string;
  /** How the framework reacts to a rank's missing file, for messages. */
  onMissingFile: string;
  /** How it reacts to these keys missing from a file: a crash is an error, a silent fallback a warning. */
  onMissingKeys: (keys: string[]) => { level: "warn" | "error"; consequence: string };
}

/**
 * Per-rank RNG files, judged as data: each holds the keys its framework
 * restores, and the ranks run 0..W-1 without a gap. Shared by the layouts
 * that save them (Trainer's rng_state_R.pth here; Accelerate's
 * random_states_R.pkl can call it with its own keys).
 */
export function judgeRngFiles(files: RngFile[], expect: RngExpectation): RankFinding[] {
  const out: RankFinding[] = [];
  const ranks = [...new Set(files.map((f) => f.rank))].sort((a, b) => a - b);
  const last = ranks[ranks.length - 1] ?? -1;
  const missing = gaps(ranks);
  if (missing.count > 0) {
    const listed = missing.first.join(", ") + (missing.count > missing.first.length ? `, ... (${missing.count} in all)` : "");
    out.push({ level: "warn", code: "RNG_RANKS_NOT_CONTIGUOUS", data: { framework: expect.framework, present: abbreviate(ranks), missing: listed, consequence: expect.onMissingFile } });
  }
  const wanted = [...expect.keys, ...(expect.gpu && expect.gpuKey ? [expect.gpuKey] : [])];
  let complete = 0;
  for (const f of files) {
    if (f.value === undefined) continue;
    const have = isDict(f.value) ? f.value.keys().map(String) : [];
    const lacking = wanted.filter((k) => !have.includes(k));
    if (lacking.length === 0) {
      complete++;
      continue;
    }
    const why = expect.gpu && lacking.includes(expect.gpuKey ?? "") ? `the run was on GPUs: ${expect.gpu}` : `every ${expect.framework} save writes them`;
    const { level, consequence } = expect.onMissingKeys(lacking);
    out.push({ level, code: "RNG_STATE_INCOMPLETE", data: { file: f.rel, framework: expect.framework, missing: lacking.join(", "), why, consequence }, file: f.rel });
  }
  if (out.length === 0 && files.length > 0) {
    out.push({ level: "pass", code: "RNG_STATE_OK", data: { count: complete, ranks: last === 0 ? "rank 0" : `ranks 0..${last}`, keys: wanted.join(", ") } });
  }
  return out;
}

/** Ranks missing from 0..max of a sorted list: the first few and how many, without listing a range a file name can make huge. */
function gaps(sorted: number[]): { first: number[]; count: number } {
  const first: number[] = [];
  let count = 0;
  let expected = 0;
  for (const r of sorted) {
    if (r > expected) {
      count += r - expected;
      for (let m = expected; m < r && first.length < 10; m++) first.push(m);
    }
    expected = r + 1;
  }
  return { first, count };
}

function abbreviate(ranks: number[]): string {
  return ranks.length <= 20 ? ranks.join(", ") : `${ranks.slice(0, 20).join(", ")}, ... (${ranks.length} files)`;
}
