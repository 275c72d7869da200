import type { CodeDoc } from "./code-doc.js";

/** Hugging Face Accelerate save_state folders (research/distributed-layouts.md section 3), reported by the ranks check. */
export const ACCELERATE_CODES = {
  ACCELERATE_INDEX_INVALID: { message: "{files}: an index no process or object could have ({count} file(s))", why: "Accelerate numbers its files by process index and registration order; a number like this is not one it wrote, so the folder holds foreign files.", fix: "Find out what wrote them and remove them." },
  ACCELERATE_RNG_MISSING: { message: "{missing} missing: random_states_N.pkl must run from 0 to {processes} - 1", why: "Every process writes its RNG state last in save_state; a missing one means that process did not finish its save, and on resume it silently keeps a fresh RNG (logged at INFO only).", fix: "Resume from an earlier checkpoint, or accept an irreproducible data order for that process." },
  ACCELERATE_CUSTOM_MISSING: { message: "{missing} missing among {count} custom_checkpoint_N.pkl file(s)", why: "load_state raises if the number of custom_checkpoint files differs from the objects registered for checkpointing.", fix: "Resume from an earlier checkpoint." },
  ACCELERATE_OPTIMIZER_MISSING: { message: "{schedulers} without {optimizers}", why: "Accelerate saves one optimizer file per prepared optimizer, before its schedulers: a scheduler without its optimizer means the optimizer's file was lost.", fix: "Resume from an earlier checkpoint." },
  ACCELERATE_SCHEDULER_MISSING: { message: "{optimizers} has no scheduler file beside it, while others do", why: "If that optimizer had a scheduler, its schedule restarts on resume.", fix: "Check that the optimizer runs without an LR scheduler." },
  ACCELERATE_RNG_INCOMPLETE: { message: "{file} lacks {keys}", why: "Accelerate restores the step counter and every RNG from these keys; a missing one is skipped silently.", fix: "Check what wrote the file." },
  ACCELERATE_RNG_STEPS_DISAGREE: { message: "the processes' RNG files disagree on the accelerator step: {detail}", why: "Every process saves at the same step; files at different steps come from different saves.", fix: "Resume from a checkpoint whose files all come from one save." },
} as const satisfies Record<string, CodeDoc>;
