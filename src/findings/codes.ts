/**
 * Every finding code the tool can emit, with its message template and its
 * documentation. `satisfies` makes a code without docs a compile error; the
 * docs/codes.md page and `explain` are generated from this table.
 */
import type { CodeDoc } from "./code-doc.js";
import { ACCELERATE_CODES } from "./codes-accelerate.js";
import { DCP_CODES } from "./codes-dcp.js";
import { MEGATRON_CODES } from "./codes-megatron.js";
import { RANKS_CODES } from "./codes-ranks.js";
import { DEEPSPEED_CODES } from "./codes-deepspeed.js";
import { RESUME_CODES } from "./codes-resume.js";
import { REMOTE_CODES } from "./codes-remote.js";

/** How pickle globals are judged, in one paragraph (also in docs/globals.md, "The rule"); `explain GLOBAL_UNSAFE` prints it. */
const GLOBALS_RULE =
  "The rule: a global is allowed when torch.load(weights_only=True) accepts it, and known harmless when it is on the documented harmless list. " +
  "Anything else from Python's standard library (every module of sys.stdlib_module_names, 3.8 to 3.14, builtins included) or from torch is denied by default: an error, even when no scanner lists it yet. " +
  "Names on the unsafe list (what picklescan, modelscan and fickling flag, and their advisories) are errors always. " +
  "Globals of other modules on no list (your own classes, sklearn, omegaconf) are warnings. " +
  "--allow-global module.name makes one exact name harmless: it lifts the default deny and the warning, never the unsafe list. Lists: docs/globals.md.";

export type { CodeDoc } from "./code-doc.js";

/**
 * The table. Codes of a new area live in a file of their own
 * (`codes-<area>.ts`) spread in here, one line each.
 */
export const CODES = {
  // ---- directory -------------------------------------------------------------------------
  PATH_OK: { message: "{path} exists and is {kind}", why: "Everything else reads from it.", fix: "Nothing." },
  PATH_NOT_FOUND: { message: "{path} does not exist", why: "There is nothing to resume from.", fix: "Check the path; the save may never have happened." },
  PATH_NOT_DIRECTORY: { message: "{path} is {kind}, which the {layout} layout does not expect", why: "The layout's files live in a folder.", fix: "Pass the checkpoint folder, or `--layout` for the right layout." },
  PATH_UNREADABLE: { message: "{path} cannot be read: {reason}", why: "A checkpoint that cannot be read cannot be resumed.", fix: "Fix the permissions or the mount." },
  LAYOUT_DETECTED: { message: "layout {layout} ({reason})", why: "The layout decides which files are required and where the step counters are.", fix: "Use `--layout` if the detection is wrong." },
  NO_CHECKPOINT_FILES: { message: "{path} holds no torch, pickle or safetensors file: there is nothing to resume from", why: "An empty folder, or one whose save never wrote its files, cannot be resumed.", fix: "Check the path; resume from an earlier checkpoint (`verify-checkpoint latest DIR`)." },
  LAYOUT_UNRECOGNISED: { message: "no known checkpoint layout in {path}: {count} file(s) were validated, but training progress, optimizer and scheduler could not be checked", why: "Only the files' integrity and safety were verified, not that the run can resume consistently.", fix: "Use `--layout training-state|hf-trainer|lightning` if the checkpoint is one of those." },
  // ---- required-files ----------------------------------------------------------------------
  FILE_PRESENT: { message: "{file} present ({size})", why: "Required for the resume.", fix: "Nothing." },
  FILE_MISSING: { message: "{file} is missing ({role})", why: "The resume needs it; a missing file usually means the save was interrupted.", fix: "Resume from an earlier, complete checkpoint (`verify-checkpoint latest DIR`)." },
  FILE_EMPTY: { message: "{file} is empty (0 bytes)", why: "A zero-byte file is what an interrupted save or a full disk leaves behind.", fix: "Resume from an earlier checkpoint; check free disk space." },
  FILE_NOT_REGULAR: { message: "{file} is {kind}, not a regular file", why: "Loading it would fail or block.", fix: "Replace it with the real file." },
  FILE_UNREADABLE: { message: "{file} cannot be read: {reason}", why: "The resume would fail on it.", fix: "Fix permissions or storage." },
  FILE_IS_LFS_POINTER: { message: "{file} is a Git LFS pointer ({size}), not the file it points to", why: "The repository was cloned without LFS; loading fails with `invalid load key, 'v'`.", fix: "Run `git lfs pull` (or download the real file)." },
  FILE_IS_HTML: { message: "{file} is an HTML page, not a {expected} file", why: "A download saved an error or login page under the file's name.", fix: "Download the file again and check the URL and credentials." },
  FILE_ALL_ZEROS: { message: "{file} holds only zero bytes ({size})", why: "Space was allocated but never written: the save or copy died.", fix: "Resume from an earlier checkpoint." },
  FILE_WRONG_FORMAT: { message: "{file} is not a {expected} file: {detail}", why: "The loader would reject it.", fix: "Replace it with the file the framework wrote." },
  WEIGHTS_MISSING: { message: "no model weights: expected one of {candidates}", why: "The model cannot be restored.", fix: "Resume from a checkpoint that holds the weights." },
  TEMP_FILES_PRESENT: { message: "{files} look like leftovers of an interrupted save", why: "Temporary or partial files mean a save did not finish here, possibly this one.", fix: "Check that the other files are from a complete save; delete the leftovers." },
  // ---- training-state ----------------------------------------------------------------------
  STATE_DECODED: { message: "{file} decoded ({summary})", why: "The training state must load.", fix: "Nothing." },
  STATE_UNREADABLE: { message: "{file} cannot be decoded: {reason}", why: "`torch.load` would fail the same way, after the GPUs are allocated.", fix: "Resume from an earlier checkpoint; the file is damaged or truncated." },
  STATE_NOT_A_DICT: { message: "{file} holds {type}, expected a dict", why: "The training loop reads keys from it.", fix: "Check what wrote this file." },
  STATE_KEY_MISSING: { message: "{file}: required key '{key}' is missing ({meaning})", why: "The resume code reads it.", fix: "Resume from a checkpoint written by the full save path." },
  STATE_KEY_TYPE: { message: "{file}: '{key}' is {actual}, expected {expected}", why: "A wrong type means the save path or the file is wrong.", fix: "Check the code that writes the checkpoint." },
  STATE_KEYS_OK: { message: "{file}: required keys present with the right types ({keys})", why: "The resume code can read them.", fix: "Nothing." },
  STATE_JSON_INVALID: { message: "{file} is not valid JSON: {reason}", why: "The trainer cannot restore its progress from it.", fix: "Resume from an earlier checkpoint." },
  GLOBALS_ALLOWED: { message: "{file}: {count} pickle global(s), all in torch's weights_only allow-list", why: "Such a file loads with `torch.load(weights_only=True)` and runs no code.", fix: "Nothing." },
  GLOBAL_HARMLESS: { message: "{file}: {global} is outside torch's weights_only allow-list but known harmless ({reason})", why: "`torch.load(weights_only=True)` refuses it unless allowed with `torch.serialization.add_safe_globals`; it runs no code of consequence.", fix: "Nothing, or load with weights_only=False from a trusted source." },
  GLOBAL_UNKNOWN: { message: "{file}: pickle global {global} (at byte {offset} of its pickle) is not in torch's allow-list nor known to be harmless", why: `Loading it imports and may call code from that module. ${GLOBALS_RULE}`, fix: "Find out what wrote it; if it is yours and safe, pass `--allow-global {global}`." },
  GLOBAL_UNSAFE: { message: "{file}: unsafe pickle global {global} at byte {offset} of its pickle ({reason})", why: `Loading this file with \`torch.load(weights_only=False)\` or \`pickle.load\` runs code: this is how malicious checkpoints work. ${GLOBALS_RULE}`, fix: "Do not load it; find out where it came from. If the reason says \"outside the known-harmless list\" and you trust the file, `--allow-global {global}` accepts that exact name; a name on the unsafe list cannot be allowed." },
  // ---- metadata ----------------------------------------------------------------------------
  PROGRESS_CONSISTENT: { message: "{progress}", why: "The counters say where the resume starts.", fix: "Nothing." },
  STEP_BEYOND_EPOCH: { message: "step {step} is beyond the {totalBatches} batches of an epoch", why: "The counters are inconsistent; the resume would skip past the end of the data.", fix: "Check total_batches (did the data set or batch size change?) and the code that saves `step`." },
  STEP_AT_EPOCH_END: { message: "step {step} equals total_batches {totalBatches} at epoch {epoch}: the epoch is finished but was not counted", why: "Depending on the resume code, this epoch is repeated or an empty epoch is run.", fix: "Check that the resume code treats step == total_batches as the start of epoch {nextEpoch}." },
  METRIC_OUT_OF_RANGE: { message: "{key} = {value} is outside [0, 1]", why: "A metric out of range means the state was written wrongly or is from something else.", fix: "Check the code that records it." },
  METRICS_OK: { message: "{metrics} within [0, 1]", why: "Best-model selection resumes from them.", fix: "Nothing." },
  FOLDER_STEP_MISMATCH: { message: "the folder name says step {folderStep} but global_step is {globalStep}", why: "The folder was renamed or holds a state from another save.", fix: "Check which save this folder really holds." },
  LOG_HISTORY_BEYOND: { message: "log_history has an entry at step {logStep}, beyond global_step {globalStep}", why: "The trainer state was written by a later save than its counters say.", fix: "Resume from another checkpoint; this one mixes saves." },
  LOOP_STEPS_MISMATCH: { message: "global_step {globalStep} but the fit loop counted {loopSteps} optimizer steps", why: "Lightning restores from the loop counters; the two should agree.", fix: "Check for manual edits of the checkpoint." },
  // ---- optimizer ---------------------------------------------------------------------------
  OPTIMIZER_STEPS_OK: { message: "optimizer steps {optimizerSteps}, expected {expected} = {formula}, diff {diff} within tolerance {tolerance}", why: "The optimizer state belongs to this point of the run.", fix: "Nothing." },
  OPTIMIZER_STEP_MISMATCH: { message: "optimizer steps {optimizerSteps}, expected {expected} = {formula}, diff {diff} exceeds tolerance {tolerance}", why: "The optimizer state is from another point of the run, or the counters are wrong; Adam's bias correction and the schedule depend on it.", fix: "Check gradient accumulation and the save code; raise --tolerance if AMP skipped many steps." },
  OPTIMIZER_STEP_RATIO: { message: "expected / optimizer steps = {ratio}: gradient accumulation of {k} would explain it", why: "With accumulation, the optimizer steps once per {k} batches.", fix: "If the run used it, record gradient_accumulation_steps in the checkpoint or pass --gradient-accumulation-steps {k}." },
  OPTIMIZER_NO_STEP: { message: "the optimizer records no step count ({detail}), so its steps could not be checked", why: "Plain SGD keeps no step; nothing ties the optimizer state to the progress counters.", fix: "Nothing, if the optimizer is plain SGD." },
  OPTIMIZER_STEPS_DISAGREE: { message: "parameter states disagree on step: {detail}", why: "All parameters step together; different counts mean a mixed or edited state.", fix: "Resume from another checkpoint." },
  OPTIMIZER_STATE_MISSING: { message: "no optimizer state ({where})", why: "A resume without it restarts the optimizer from zero moments, silently.", fix: "Resume from a checkpoint saved with the optimizer state." },
  OPTIMIZER_STATE_INVALID: { message: "the optimizer state ({where}) is not a torch optimizer state_dict: {reason}", why: "`optimizer.load_state_dict` would fail.", fix: "Check the code that saves it." },
  NO_EXPECTED_STEPS: { message: "the checkpoint records no progress counters to compare the optimizer's {optimizerSteps} steps against", why: "The step check needs epoch/step or global_step.", fix: "Nothing." },
  // ---- weights -----------------------------------------------------------------------------
  WEIGHTS_FILE_OK: { message: "{file}: {tensors} tensors ({dtypes}), {size}", why: "The model restores from it.", fix: "Nothing." },
  WEIGHTS_FILE_INVALID: { message: "{file}: {reason}", why: "The model cannot be restored from it.", fix: "Re-download or resume from an earlier checkpoint." },
  TORCH_FILE_PROBLEM: { message: "{file}: {reason}", why: "`torch.load` would fail or read garbage.", fix: "The file is damaged: resume from an earlier checkpoint." },
  SHARD_INDEX_INVALID: { message: "{file} is not a valid shard index: {reason}", why: "The loader finds shards through it.", fix: "Re-create or re-download the index." },
  SHARD_MISSING: { message: "{shard} is named by {file} but does not exist", why: "Part of the model is missing.", fix: "Copy or download the missing shard." },
  SHARD_TENSOR_MISSING: { message: "{file} maps {count} tensor(s) to {shard}, which does not hold them (e.g. {example})", why: "The shards are from another save or model.", fix: "Re-download the shards and index together." },
  SHARDS_OK: { message: "{file}: {shards} shard(s), {tensors} tensors, all present and valid", why: "The sharded model restores completely.", fix: "Nothing." },
  // ---- optimizer-weights -------------------------------------------------------------------
  OPTIMIZER_MATCHES_WEIGHTS: { message: "{states} optimizer parameter state(s) match the shapes of the {tensors} weight tensors", why: "The optimizer state belongs to this model.", fix: "Nothing." },
  OPTIMIZER_SHAPE_MISMATCH: { message: "optimizer moment shape(s) {shapes} have no matching parameter in the weights ({count} state(s) unmatched)", why: "The optimizer state belongs to another model; loading it fails or corrupts training.", fix: "Resume from a checkpoint whose optimizer and weights were saved together." },
  OPTIMIZER_TOO_MANY_STATES: { message: "{states} optimizer parameter states but only {tensors} weight tensors", why: "The optimizer state belongs to a larger model.", fix: "Resume from a checkpoint whose optimizer and weights were saved together." },
  // ---- scheduler ---------------------------------------------------------------------------
  SCHEDULER_STATE_MISSING: { message: "no LR scheduler state ({where})", why: "The learning-rate schedule restarts from its beginning (warm-up again) on resume.", fix: "Save the scheduler's state_dict with the checkpoint." },
  SCHEDULER_STATE_INVALID: { message: "the scheduler state ({where}) is not an LR scheduler state_dict: {reason}", why: "`scheduler.load_state_dict` would fail or restore nothing.", fix: "Check the code that saves it." },
  SCHEDULER_STEPS_OK: { message: "scheduler last_epoch {lastEpoch}, {against} {steps}, diff {diff} within tolerance {tolerance}", why: "The schedule is where the optimizer is.", fix: "Nothing." },
  SCHEDULER_EPOCHS_OK: { message: "scheduler last_epoch {lastEpoch} counts epochs (epoch {epoch}): it steps once per epoch", why: "Lightning steps schedulers per epoch unless told otherwise; the schedule is where the run is.", fix: "Nothing." },
  SCHEDULER_STEP_MISMATCH: { message: "scheduler last_epoch {lastEpoch}, {against} {steps}, diff {diff} exceeds tolerance {tolerance}", why: "The schedule was not fast-forwarded, or stepped per epoch instead of per batch: the resumed LR is wrong.", fix: "Check where scheduler.step() is called and that its state is saved at the same time as the optimizer's." },
  LR_AGREES: { message: "resume learning rate {lr}: the optimizer's lr equals the scheduler's _last_lr", why: "The run resumes with the LR the schedule says.", fix: "Nothing." },
  LR_MISMATCH: { message: "the optimizer's lr is {lr} but the scheduler's _last_lr is {lastLr}", why: "Optimizer and scheduler states were saved at different times.", fix: "Save both in the same step." },
  LR_TOO_SMALL: { message: "resume learning rate {lr} is below 1e-8", why: "The schedule has ended or decayed to zero: the resumed run would not learn.", fix: "Extend the schedule (max_steps / T_max) before resuming." },
  LR_ABOVE_BASE: { message: "resume learning rate {lr} is above the base learning rate {baseLr}, which {kind} never exceeds", why: "The scheduler state does not belong to this optimizer or was edited.", fix: "Check the scheduler and optimizer states." },
  LR_FORMULA_OK: { message: "{kind} at last_epoch {lastEpoch} gives {computed}, as _last_lr says", why: "The scheduler state is self-consistent.", fix: "Nothing." },
  LR_FORMULA_MISMATCH: { message: "{kind} at last_epoch {lastEpoch} gives {computed}, but _last_lr is {lastLr}", why: "The scheduler state was edited or its parameters changed.", fix: "Check the scheduler's construction arguments against the saved state." },
  // ---- fast-forward ------------------------------------------------------------------------
  FAST_FORWARD: { message: "resume skips {steps} steps ({formula}); learning rate {startLr} at the start of the schedule, {resumeLr} at the resume step", why: "What the resumed run will do first.", fix: "Nothing." },
  // ---- scaler ------------------------------------------------------------------------------
  SCALER_OK: { message: "AMP scaler: scale {scale}, growth tracker {tracker}", why: "Mixed-precision training resumes with its loss scale.", fix: "Nothing." },
  SCALER_STATE_MISSING: { message: "no AMP scaler state ({where})", why: "With fp16 AMP the loss scale restarts at 65536 and the first steps may overflow and be skipped.", fix: "Save GradScaler.state_dict() with the checkpoint, or ignore if AMP is not used." },
  SCALER_STATE_EMPTY: { message: "the AMP scaler state is empty", why: "It was saved from a disabled GradScaler; loading it into an enabled one raises RuntimeError.", fix: "Enable the scaler consistently, or drop the empty state." },
  SCALER_STATE_INVALID: { message: "the AMP scaler state ({where}) is not a GradScaler state_dict: {reason}", why: "`scaler.load_state_dict` would fail.", fix: "Check the code that saves it." },
  SCALER_SCALE_INVALID: { message: "AMP loss scale {scale} is not a positive finite number", why: "Every step would overflow or be skipped.", fix: "Reset the scaler or resume from an earlier checkpoint." },
  // ---- integrity (--deep) ------------------------------------------------------------------
  BYTES_OK: { message: "{file}: {records} record(s), {size} read, CRC32 and values sound", why: "Every byte of the file was read back and checked.", fix: "Nothing." },
  CRC_MISMATCH: { message: "{file}: record {record} has CRC32 {actual}, the central directory says {expected}", why: "The bytes changed after they were written: a flipped bit, a bad disk or a partial overwrite. torch.load does not check this and would resume from corrupt values.", fix: "Resume from an earlier checkpoint or restore the file from a copy." },
  CRC_NOT_RECORDED: { message: "{file}: {count} record(s) were written without a CRC32 (torch's set_crc32_options(False)), so they could not be checked", why: "Without a checksum, corruption of those records cannot be detected.", fix: "Nothing; save with CRC32 on to make them checkable." },
  NON_FINITE_VALUES: { message: "{file}: {tensor} ({dtype}) holds {count} NaN or infinite value(s)", why: "A resume from non-finite weights or optimizer moments wastes the run: the loss is NaN from the first step.", fix: "Resume from an earlier checkpoint, before the values diverged." },
  RECORD_UNREADABLE: { message: "{file}: {where} could not be read: {reason}", why: "The resume would fail reading it.", fix: "Resume from an earlier checkpoint." },
  // ---- config ------------------------------------------------------------------------------
  CONFIG_OK: { message: "{file} is a JSON object with {keys} keys", why: "The model is rebuilt from it.", fix: "Nothing." },
  CONFIG_INVALID: { message: "{file} is not valid JSON: {reason}", why: "The model cannot be rebuilt from it.", fix: "Restore config.json from the run's output or repository." },
  CONFIG_NOT_OBJECT: { message: "{file} holds {type}, expected a JSON object", why: "The model cannot be rebuilt from it.", fix: "Restore config.json." },
  // ---- areas with a table of their own ------------------------------------------------------
  ...RANKS_CODES,
  ...DEEPSPEED_CODES,
  ...RESUME_CODES,
  ...REMOTE_CODES,
  ...DCP_CODES,
  ...MEGATRON_CODES,
  ...ACCELERATE_CODES,
} as const satisfies Record<string, CodeDoc>;

export type Code = keyof typeof CODES;
