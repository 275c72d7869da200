import type { Check } from "./define.js";
import { directoryCheck } from "./directory.js";
import { requiredFilesCheck } from "./required-files.js";
import { trainingStateCheck } from "./training-state.js";
import { metadataCheck } from "./metadata.js";
import { optimizerCheck } from "./optimizer.js";
import { weightsCheck } from "./weights.js";
import { configCheck } from "./config.js";
import { optimizerWeightsCheck } from "./optimizer-weights.js";
import { schedulerCheck } from "./scheduler.js";
import { fastForwardCheck } from "./fast-forward.js";
import { scalerCheck } from "./scaler.js";
import { integrityCheck } from "./integrity.js";
import { ranksCheck } from "./ranks.js";
import { weightKeysCheck } from "./weight-keys.js";
import { optimizerHealthCheck } from "./optimizer-health.js";
import { torchLoadCheck } from "./torch-load.js";
import { recordedPathsCheck } from "./recorded-paths.js";
import { rankStateCheck } from "./rank-state.js";

/** The checks, in the order they run and are reported. The first five are the original pipeline's. */
export const CHECKS: readonly Check[] = [
  directoryCheck,
  requiredFilesCheck,
  trainingStateCheck,
  metadataCheck,
  optimizerCheck,
  ranksCheck,
  weightsCheck,
  configCheck,
  optimizerWeightsCheck,
  schedulerCheck,
  fastForwardCheck,
  scalerCheck,
  weightKeysCheck,
  optimizerHealthCheck,
  torchLoadCheck,
  recordedPathsCheck,
  rankStateCheck,
  integrityCheck,
];
