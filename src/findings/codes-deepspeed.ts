import type { CodeDoc } from "./code-doc.js";

const EARLIER = "Resume from an earlier complete tag (`verify-checkpoint latest DIR`), passing it as the tag explicitly.";

/** DeepSpeed saves (research/distributed-layouts.md §1.9), reported by the ranks check. */
export const DEEPSPEED_CODES = {
  DS_LATEST_MISSING: {
    message: "{folder} has no {file} file (tags present: {tags})",
    why: "DeepSpeed's load_checkpoint(tag=None) reads the tag from `latest`; without it it loads nothing and returns None, and Trainer and Lightning then raise. Rank 0 writes `latest` last, so its absence also means the last save may not have finished.",
    fix: "Pass the tag explicitly after checking it, or write the tag name into `latest` by hand once `verify-checkpoint` passes on that tag.",
  },
  DS_LATEST_INVALID: {
    message: "{file} does not hold a tag name: {reason}",
    why: "DeepSpeed reads the whole file as the name of a folder; anything else makes the resume load nothing or fail.",
    fix: "Write the intended tag (e.g. global_step500) into the file, or pass the tag explicitly.",
  },
  DS_LATEST_TAG_MISSING: {
    message: "{file} names the tag '{tag}', but there is no such folder (tags present: {tags})",
    why: "The resume fails with FileNotFoundError: the tag was deleted, renamed or never written.",
    fix: EARLIER,
  },
  DS_LATEST_NOT_NEWEST: {
    message: "{file} names {tag}, but the newer tag {newest} exists: the resume reads {tag}",
    why: "DeepSpeed resumes from the tag `latest` names, not the newest folder; a newer tag is either an unfinished save or `latest` was not updated.",
    fix: "If the newer tag is complete (`verify-checkpoint` on it), point `latest` at it; otherwise delete it.",
  },
  DS_TAG_NO_FILES: {
    message: "{tag} holds no DeepSpeed model or optimizer files",
    why: "The resume finds nothing to load in the tag (a save with save_only_model, or the files were deleted).",
    fix: EARLIER,
  },
  DS_RANK_NUMBER_INVALID: {
    message: "{file}: rank number {number} in the file name is beyond {max}",
    why: "No DeepSpeed run has that many ranks; the file is not one DeepSpeed wrote, and a loader counting files would be misled by it.",
    fix: "Remove the file.",
  },
  DS_WORLD_SIZE_INVALID: {
    message: "{file}: {field} is {value}, not a rank count between 1 and {max}",
    why: "The rank files the save needs cannot be known, so completeness cannot be checked.",
    fix: "The file is damaged or not DeepSpeed's: resume from an earlier tag.",
  },
  DS_RANK_FILES_MISSING: {
    message: "{tag}: {count} of {expected} {kind} file(s) missing: {files}",
    why: "Every rank loads its own file on resume; a missing one fails with FileNotFoundError after the GPUs are allocated (zero_to_fp32 also refuses the tag). A rank died or ran out of disk during the save.",
    fix: EARLIER,
  },
  DS_RANK_FILES_EXTRA: {
    message: "{tag}: {count} {kind} file(s) beyond the recorded {limit}: {files}",
    why: "Files from an older run with more ranks were left in the tag; DeepSpeed's zero_to_fp32 refuses a tag whose file count does not match partition_count, and a resume with more ranks would load stale shards.",
    fix: "Delete the extra files after checking they are from the older run.",
  },
  DS_RANKS_DISAGREE: {
    message: "{tag}: the rank files disagree on {field}: {detail}",
    why: "All ranks' files of one save record the same values; different ones mean files from different saves or runs were mixed.",
    fix: EARLIER,
  },
  DS_RANK_STEPS_DISAGREE: {
    message: "{tag}: the optimizer partitions disagree on Adam's step: {detail}",
    why: "Every rank steps together; a partition at another step is stale (from an earlier save) and would resume with wrong bias correction and moments.",
    fix: EARLIER,
  },
  DS_ZERO_STAGE_MISMATCH: {
    message: "{file}: the optimizer files were written by ZeRO stage {stage}, but ds_config says stage {configStage}",
    why: "The files and the configuration they were saved with disagree, so they are not from the same save.",
    fix: EARLIER,
  },
  DS_PREFIX_MISMATCH: {
    message: "{tag}: optimizer files are named '{prefix}zero_pp_rank_*' but ds_config's bf16.enabled is {bf16}",
    why: "DeepSpeed names optimizer files bf16_zero_pp_rank_* exactly when bf16 is on; the loader tries both names, so this resumes, but the files and the config do not match.",
    fix: "Check that the tag's files are from this run.",
  },
  DS_TAG_STEP_MISMATCH: {
    message: "the tag folder is named {tag} but its files say global_steps {globalSteps}",
    why: "The folder was renamed or holds another save's files; the resume uses the files' counter.",
    fix: "Check which save the folder really holds.",
  },
  DS_SAMPLES_MISMATCH: {
    message: "global_samples {samples} is not global_steps {globalSteps} x train_batch_size {batch} = {expected}",
    why: "DeepSpeed counts train_batch_size samples per step; another count means the batch size changed during the run, so data-position and schedule counters based on samples differ.",
    fix: "Nothing if the batch size was changed on purpose (batch-size ramp-up); otherwise check the run's config.",
  },
  DS_SHARED_PARAM_UNKNOWN: {
    message: "{file}: shared_params ties {name} to {target}, which the save records as no parameter, frozen parameter or buffer ({count} such tie(s))",
    why: "DeepSpeed records tied parameters (ZeRO-3) by name; zero_to_fp32 rebuilds a tied parameter by copying the one it names, and skips it without a word when that name is not in the consolidated weights, so the exported model lacks it. The tie also says the model files and the module they came from disagree.",
    fix: "Check that every model file of the tag is from this run; if the model was changed (a tied layer renamed), re-save from the current model.",
  },
  DS_LOSS_SCALER_INCONSISTENT: {
    message: "{file}: the fp16 loss scaler is inconsistent: {reason}",
    why: "The loss scaler's counters should follow the run's steps and overflows; stale or edited scaler state resumes with a wrong loss scale.",
    fix: "Check that the optimizer files are from this save.",
  },
  DS_PARTITION_MISMATCH: {
    message: "{file}: {detail}",
    why: "The flat optimizer partitions do not add up to the parameters the model files record (the check zero_to_fp32 makes): the files belong to different models or runs, and the resume would fail or scatter values into the wrong parameters.",
    fix: EARLIER,
  },
  DS_TRAINER_STEP_MISMATCH: {
    message: "trainer_state.json says global_step {trainerStep} but the DeepSpeed files say global_steps {globalSteps}",
    why: "Trainer's own state and DeepSpeed's files are from different saves; the resumed run would mix two points of training.",
    fix: "Resume from a checkpoint-N whose files were written together.",
  },
  DS_LIGHTNING_STEP_MISMATCH: {
    message: "{file}: Lightning's global_step is {lightningStep} but DeepSpeed's global_steps is {globalSteps}",
    why: "Lightning and DeepSpeed count optimizer steps of the same run; a difference means steps were counted differently (manual optimization, skipped steps) or the state was edited.",
    fix: "Check how the run steps the optimizer.",
  },
  DS_SCHEDULER_COPIES_DISAGREE: {
    message: "scheduler.pt has last_epoch {hostEpoch} but DeepSpeed's copy in {file} has {dsEpoch}",
    why: "Trainer loads scheduler.pt after DeepSpeed loaded its copy, so the two must be the same state; a difference means they were saved at different steps.",
    fix: "Resume from a checkpoint-N whose files were written together.",
  },
  DS_UNIVERSAL_INCOMPLETE: {
    message: "universal checkpoint {folder}: {count} file(s) missing: {files}",
    why: "A universal checkpoint restores each parameter from zero/<name>/; a missing file fails the resume (load_universal_checkpoint).",
    fix: "Run ds_to_universal.py again on the source tag.",
  },
} as const satisfies Record<string, CodeDoc>;
