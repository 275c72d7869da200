import type { NormalisedCheckpoint, ShardedSave } from "../layouts/types.js";
import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("rank-state");

/**
 * Per-rank state against the resume: the RNG files the layout judged (every
 * rank, every key), and with --world-size / --gpus what the resumed processes
 * will find: per-rank files for their rank, storages on devices they have.
 */
export const rankStateCheck = defineCheck({
  id: "rank-state",
  title: "Per-rank state and the resume's world size",
  codes: ["RNG_STATE_OK", "RNG_STATE_INCOMPLETE", "RNG_RANKS_NOT_CONTIGUOUS", "WORLD_SIZE_MATCHES", "WORLD_SIZE_CHANGED", "CUDA_DEVICE_OUT_OF_RANGE", "CUDA_DEVICES_MAPPED"],
  run({ checkpoint: c, options }) {
    const rng = c.resume?.rng;
    const out = [
      ...(rng?.findings ?? []).map((f) => r.at(f.level)(f.code, f.data, f.file)),
      ...(options.worldSize !== undefined ? worldSize(c, options.worldSize) : []),
      ...(options.gpus !== undefined ? devices(c, options.gpus) : []),
    ];
    if (out.length === 0) return { skip: rng || options.worldSize !== undefined || options.gpus !== undefined ? "nothing per-rank to compare" : "no per-rank files; --world-size and --gpus compare the checkpoint with the resume" };
    return findings(out);
  },
});

function worldSize(c: NormalisedCheckpoint, n: number) {
  const out = [];
  const rng = c.resume?.rng;
  // Multi-rank saves judge themselves; this compares the world size they recorded.
  for (const s of c.sharded) if (s.worldSize !== undefined) out.push(compare(`the ${s.format} save`, s.worldSize, n, shardedConsequence(s, n)));
  if (rng && c.sharded.length === 0) out.push(compare(`${c.layout} RNG state (${rng.files.length} file(s))`, rng.ranks, n, trainerConsequence(rng.ranks, n)));
  return out;
}

function compare(what: string, saved: number, resume: number, consequence: { level: "warn" | "error" | "info"; text: string }) {
  if (saved === resume) return r.pass("WORLD_SIZE_MATCHES", { what, saved });
  return r.at(consequence.level)("WORLD_SIZE_CHANGED", { what, saved, resume, consequence: consequence.text });
}

function shardedConsequence(s: ShardedSave, n: number): { level: "warn" | "error" | "info"; text: string } {
  if (s.reshards === true) return { level: "info", text: `${s.format} reshards on load` };
  if (s.reshards === false) return { level: "error", text: `${s.format} refuses to load a save of ${s.worldSize} ranks into ${n}` };
  return { level: "warn", text: `check that ${s.format} can load a save of ${s.worldSize} ranks into ${n} (see the ranks check)` };
}

/** transformers trainer.py _load_rng_state: rng_state.pth when world_size <= 1, else rng_state_{process_index}.pth; a missing one is logged at INFO. */
function trainerConsequence(saved: number, n: number): { level: "warn"; text: string } {
  const rng =
    n === 1
      ? "Trainer looks for rng_state.pth, which a multi-process save does not write: the resumed process gets no RNG state"
      : saved === 1
        ? "Trainer looks for rng_state_<rank>.pth, which a single-process save does not write: no process gets its RNG state"
        : n > saved
          ? `ranks ${saved}..${n - 1} find no RNG file and start with fresh random state`
          : `the RNG files of ranks ${n}..${saved - 1} go unused`;
  return { level: "warn", text: `${rng}; the global batch changes by ${n}/${saved}, so Trainer's fast-forward (computed for the new size) does not land where the run stopped` };
}

/** Storages saved on cuda:K with K >= the GPUs each resumed process sees. */
function devices(c: NormalisedCheckpoint, gpus: number) {
  const out = [];
  for (const l of c.resume?.torchLoads ?? []) {
    for (const [device, count] of l.devices) {
      const m = /^cuda(?::(\d+))?$/.exec(device);
      if (!m || Number(m[1] ?? 0) < gpus) continue;
      const data = { file: l.rel, count, device, gpus, by: l.by };
      out.push(l.mapsLocation ? r.info("CUDA_DEVICES_MAPPED", data, l.rel) : r.warn("CUDA_DEVICE_OUT_OF_RANGE", data, l.rel));
    }
  }
  return out;
}
