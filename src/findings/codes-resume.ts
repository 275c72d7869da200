import type { CodeDoc } from "./code-doc.js";

/** What the resume itself will do (issue 13): the run folder, the loader, the model the trainer builds, the state it restores. */
export const RESUME_CODES = {
  // ---- directory: which checkpoint, and can it resume at all -------------------------------
  RUN_FOLDER_RESOLVED: {
    message: "{from} is a run folder: {framework} resumes from {to} ({rule}); verifying that",
    why: "Trainer.train(resume_from_checkpoint=True) and Lightning's ckpt_path=\"last\" pick one checkpoint inside the run's folder; that one, not the folder, decides whether the resume works.",
    fix: "Nothing, if that is the checkpoint you mean; otherwise pass the checkpoint itself, or use `verify-checkpoint latest DIR` to find the newest one that passes.",
  },
  RESUME_WEIGHTS_ONLY: {
    message: "{path} holds model weights ({files}) but no optimizer or training state anywhere: it can be used for inference or to start a fine-tuning run, not to resume one",
    why: "A resume restores the optimizer's moments, the schedule and the step counters; from weights alone the run restarts at step 0 with a fresh optimizer, or the resume code fails looking for them.",
    fix: "Resume from a checkpoint saved with the training state (Trainer's checkpoint-N/, a Lightning .ckpt without save_weights_only, your own save of optimizer.state_dict()), or start a new run from these weights knowingly.",
  },
  // ---- torch-load -------------------------------------------------------------------------
  TORCH_LOAD_OK: {
    message: "{file}: torch.load(weights_only=True) loads it ({by})",
    why: "Since torch 2.6, torch.load refuses any global outside its allow-list unless told otherwise; this file holds none.",
    fix: "Nothing.",
  },
  TORCH_LOAD_FRAMEWORK_ALLOWS: {
    message: "{file}: needs {globals} beyond torch's weights_only allow-list, which {by} allowlists itself: {how}",
    why: "The framework's own loader adds these globals, so its resume loads the file under torch >= 2.6; your own torch.load of it would need them too.",
    fix: "Nothing for the framework's resume; to load the file yourself, allowlist the same globals (the finding's data.code holds the line).",
  },
  TORCH_LOAD_NEEDS_SAFE_GLOBALS: {
    message: "{file}: torch.load(weights_only=True), the default since torch 2.6, refuses {globals} ({by}); allow them with: {code}",
    why: "The resume then fails with `UnpicklingError: Weights only load failed ... Unsupported global`, after the GPUs are allocated; some trainers catch it and silently skip restoring that state (RNG).",
    fix: "Run the add_safe_globals line shown before the resume loads the file (or wrap the load in `torch.serialization.safe_globals([...])` with the same list), after checking you trust what wrote it; or resume on torch < 2.6. `--torch-load weights-only` makes this a warning, for teams on torch >= 2.6.",
  },
  TORCH_LOAD_REFUSED: {
    message: "{file}: torch.load(weights_only=True) refuses it whatever is allowlisted ({by}): {reasons}",
    why: "No add_safe_globals call makes it load; only weights_only=False does, which runs whatever the pickle calls.",
    fix: "Do not load it with weights_only=False unless you trust what wrote it; re-save the state with torch.save's default pickle protocol and plain values.",
  },
  // ---- weight-keys ------------------------------------------------------------------------
  WEIGHT_KEYS_OK: {
    message: "{file}: none of the {count} tensor names carries a wrapper prefix",
    why: "The names match a model built without torch.compile, DDP or PEFT wrappers.",
    fix: "Nothing.",
  },
  WEIGHT_KEYS_WRAPPER_PREFIX: {
    message: "{file}: {prefixed} of {count} tensor names start with '{prefix}' ({wrapper}): a model built without that wrapper finds none of its keys",
    why: "load_state_dict(strict=True) fails with every key missing and unexpected; a non-strict load (Trainer's, with only a logged warning) keeps the random initial weights and the resumed run trains from scratch.",
    fix: "Strip the prefix when saving (save the unwrapped module: model.module, model._orig_mod) or when loading (torch.nn.modules.utils.consume_prefix_in_state_dict_if_present), or resume into the same wrapper.",
  },
  WEIGHT_KEYS_MIXED_PREFIX: {
    message: "{file}: {prefixed} tensor names start with '{prefix}' ({wrapper}) and {plain} do not ({both} appear both ways, e.g. {example})",
    why: "The file mixes a wrapped and an unwrapped state_dict: no model, wrapped or not, loads it cleanly.",
    fix: "Re-save the weights from one module; check the code that merges state dicts.",
  },
  ADAPTER_CONFIG_OK: {
    message: "{file}: r={r} and target_modules {targets} match the {count} LoRA tensors",
    why: "The PeftModel the trainer builds from this config has an adapter of the saved shape for every saved tensor.",
    fix: "Nothing.",
  },
  ADAPTER_CONFIG_INVALID: {
    message: "{file} cannot be used to build the adapter: {reason}",
    why: "PEFT builds the adapter layers from it before loading the weights.",
    fix: "Restore adapter_config.json from the run that saved the adapter.",
  },
  ADAPTER_RANK_MISMATCH: {
    message: "{file} says r={r} for {module}, but {tensor} has rank {actual}",
    why: "PEFT builds layers of the configured rank and loading the saved tensors fails with a size mismatch; a swapped adapter or config does this.",
    fix: "Use the adapter_config.json saved with these weights.",
  },
  ADAPTER_UNTARGETED: {
    message: "{tensor} adapts module {module}, which target_modules {targets} does not name",
    why: "The PeftModel built from this config has no adapter on that module: the saved weights are dropped as unexpected keys (a logged warning) and the resumed adapter is incomplete.",
    fix: "Use the adapter_config.json saved with these weights.",
  },
  // ---- optimizer-weights (extended) -------------------------------------------------------
  OPTIMIZER_PARAMS_EXCEED_WEIGHTS: {
    message: "the optimizer's param_groups list {params} parameters but the weights hold only {tensors} tensors",
    why: "optimizer.load_state_dict into the model these weights build fails with 'loaded state dict contains a parameter group that doesn't match the size of optimizer's group': the optimizer belongs to a bigger model.",
    fix: "Resume from a checkpoint whose optimizer and weights were saved from the same model.",
  },
  // ---- optimizer-health -------------------------------------------------------------------
  OPTIMIZER_HEALTH_OK: {
    message: "{moments} moment tensor(s) stored in {dtypes}; {withState} of {params} parameters have state",
    why: "The moments keep their precision and every parameter resumes with its own.",
    fix: "Nothing.",
  },
  OPTIMIZER_MOMENTS_LOW_PRECISION: {
    message: "{count} optimizer moment tensor(s) are stored in {dtypes} (e.g. state {example}) while the weights are {weights}",
    why: "Adam's second moment (exp_avg_sq) underflows to 0 below ~6e-8 in float16 and loses most digits in bfloat16; the first resumed steps divide by sqrt(v)+eps and the loss spikes or goes NaN (Ultralytics' fp16 optimizer saves did this).",
    fix: "Save the optimizer state in float32 (do not .half() it to shrink checkpoints); resume from a checkpoint that did.",
  },
  OPTIMIZER_STATE_PARTIAL: {
    message: "{missing} of {params} parameters have no optimizer state while the others stepped {steps} time(s) (frozen or unused parameters)",
    why: "torch's optimizer.load_state_dict accepts it and those parameters start with fresh moments; a strict distributed load (DCP/FSDP) reports the missing state keys.",
    fix: "Nothing, if those parameters were frozen on purpose.",
  },
  OPTIMIZER_SECOND_MOMENT_ZERO: {
    message: "{file}: {tensor} is all zeros while {firstMoment} is not",
    why: "The second moment underflowed (a 16-bit save) or was zeroed: the first resumed Adam steps divide by eps and blow up.",
    fix: "Resume from an earlier checkpoint whose optimizer state was saved in float32.",
  },
  // ---- fast-forward (extended) ------------------------------------------------------------
  NOTHING_LEFT_TO_TRAIN: {
    message: "{reason}: the resume trains 0 steps",
    why: "With the same configuration the resumed run exits at once (or trains at a learning rate of 0): a wasted allocation, or a job that looks finished but is not what you meant.",
    fix: "Raise max_steps / num_train_epochs (and the scheduler's horizon) before resuming, or pick an earlier checkpoint.",
  },
  SCHEDULER_PAST_END: {
    message: "{kind} has run its {horizon} {field}: the first resumed scheduler.step() raises ValueError",
    why: "OneCycleLR refuses to step past total_steps ('Tried to step N times. The specified number of total steps is M'), so the resume crashes at its first step.",
    fix: "Rebuild the scheduler with a larger total_steps (and matching state) before resuming.",
  },
  // ---- metadata (extended) ----------------------------------------------------------------
  LOGGED_VALUE_NOT_FINITE: {
    message: "{key} is {value} at step {step} ({where}): the run was diverging when it saved",
    why: "Resuming from here continues a diverged run: the weights or optimizer state are likely already damaged.",
    fix: "Resume from an earlier checkpoint, before the loss went non-finite (--deep shows whether the saved tensors hold NaN/Inf).",
  },
  // ---- recorded-paths ---------------------------------------------------------------------
  RECORDED_PATHS_OK: {
    message: "{count} path(s) recorded in the state exist ({where})",
    why: "What the resumed run reads or deletes later is there.",
    fix: "Nothing.",
  },
  RECORDED_PATH_MISSING: {
    message: "{where} is {path}, which does not exist{beside}: {consequence}",
    why: "The training state keeps paths to other checkpoints; the framework uses them as recorded (a relative one from the directory the resume runs in), long after the resume started.",
    fix: "Run the resume (and this tool) from the directory the training ran in, move the files back, or fix the path in the state.",
  },
  // ---- rank-state -------------------------------------------------------------------------
  RNG_STATE_OK: {
    message: "RNG state for {ranks} ({count} file(s)), each with {keys}",
    why: "Every rank restores its random state: data order and dropout continue as if the run had not stopped.",
    fix: "Nothing.",
  },
  RNG_STATE_INCOMPLETE: {
    message: "{file} lacks {missing} ({why}): {consequence}",
    why: "The resume either fails reading the RNG state or silently continues with different randomness (data order, dropout).",
    fix: "Resume from a checkpoint whose RNG files are complete; if none is, expect the resumed run to differ from an uninterrupted one (and remove the file so Trainer skips it instead of failing).",
  },
  RNG_RANKS_NOT_CONTIGUOUS: {
    message: "{framework} RNG files for ranks {present}, none for rank(s) {missing}: {consequence}",
    why: "A rank's file missing from a save means that save was incomplete on one process (a node died, or wrote elsewhere).",
    fix: "Check that rank's node; resume from an earlier complete save if reproducibility matters.",
  },
  WORLD_SIZE_MATCHES: {
    message: "{what} was saved by {saved} process(es), as the resume will have",
    why: "Per-rank state maps one to one onto the resumed processes.",
    fix: "Nothing.",
  },
  WORLD_SIZE_CHANGED: {
    message: "{what} was saved by {saved} process(es); the resume will have {resume}: {consequence}",
    why: "Per-rank files and data positions are laid out for the world size that saved them.",
    fix: "Resume with the saved world size, or convert the checkpoint for the new one (ds_to_universal for DeepSpeed ZeRO).",
  },
  CUDA_DEVICE_OUT_OF_RANGE: {
    message: "{file}: {count} storage(s) saved on {device}, but the resume sees {gpus} GPU(s) per process ({by})",
    why: "torch.load without map_location puts each storage back on the device it was saved from and fails with 'Attempting to deserialize object on CUDA device K but torch.cuda.device_count() is N'.",
    fix: "Load with map_location (\"cpu\" or the local device), or resume on a machine with enough GPUs.",
  },
  CUDA_DEVICES_MAPPED: {
    message: "{file}: {count} storage(s) saved on {device}, beyond the {gpus} GPU(s) per process, but {by} passes map_location",
    why: "The loader moves the storages to a device that exists, so the saved device index does not matter.",
    fix: "Nothing.",
  },
} as const satisfies Record<string, CodeDoc>;
