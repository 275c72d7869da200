import type { VerifyOptions } from "../core/options.js";
import type { PyDict, Tensor } from "../formats/pickle/values.js";
import type { DirEntry } from "../storage/types.js";
import type { FileLoader } from "./file-loader.js";
import type { ExpectedFile, OptimizerView, Part, Progress, ScalerView, SchedulerView, ShardedSave, StateFile, WeightsFile } from "./types.js";

/* The interfaces live apart from the registry so a format's module can use them without a cycle. */

/**
 * Multi-rank save formats that also appear inside other layouts: a Trainer
 * `checkpoint-N/` saved under DeepSpeed (a `latest` file and a `global_stepN/`
 * tag) or FSDP (`pytorch_model_fsdp_0/`, `optimizer_0/` DCP folders), a
 * Lightning `.ckpt` folder, Accelerate's `save_state` folder. Each format reads
 * its save into a NestedRead; the layout that hosts it (or the format's own
 * standalone layout) takes the parts the save provides instead of its own files.
 */
export interface NestedRead {
  save: ShardedSave;
  /** Parts the save provides. A host layout uses them instead of its own file (DeepSpeed under Trainer writes no optimizer.pt). */
  optimizer?: Part<OptimizerView>;
  scheduler?: Part<SchedulerView>;
  scaler?: Part<ScalerView>;
  progress?: Part<Progress>;
  /** A decoded dict the host reads its own keys from (Lightning's keys live inside DeepSpeed's model_states file). */
  hostState?: { rel: string; value: PyDict; scalar: (t: Tensor) => Promise<number | undefined> };
  stateFiles: StateFile[];
  expectedFiles: ExpectedFile[];
  weights?: WeightsFile[];
}

export interface NestedFormat {
  name: string;
  /** The folders under `rel` (relative to the checkpoint root; "" = `rel` itself) that hold a save of this format. */
  find(loader: FileLoader, rel: string, entries: DirEntry[]): string[] | Promise<string[]>;
  read(loader: FileLoader, rel: string, options: VerifyOptions): Promise<NestedRead>;
}

