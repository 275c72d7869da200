import type { FileLoader } from "../file-loader.js";
import { readScheduler } from "../torch-state.js";
import type { Part, RankFinding, SchedulerView } from "../types.js";
import { finding, type Dims } from "./rules.js";
import { join } from "./tag.js";

/**
 * The host's own counters against DeepSpeed's (research §1.9.1, §1.9.4):
 * under Trainer, trainer_state.json (written last) and scheduler.pt sit
 * beside `latest` and must be from the same save as the tag's files.
 */
export async function hostFindings(loader: FileLoader, dir: string, d: Dims, client: Part<SchedulerView> | undefined): Promise<RankFinding[]> {
  const out: RankFinding[] = [];
  const steps = d.ref?.globalSteps;
  const trainerRel = join(dir, "trainer_state.json");
  if (steps !== undefined && (await loader.exists(trainerRel))) {
    const json = await loader.json(trainerRel);
    const v = json.value as { global_step?: unknown } | undefined;
    const trainerStep = typeof v?.global_step === "number" && Number.isSafeInteger(v.global_step) ? v.global_step : undefined;
    if (trainerStep !== undefined && trainerStep !== steps) out.push(finding("error", "DS_TRAINER_STEP_MISMATCH", { trainerStep, globalSteps: steps }, trainerRel));
  }
  const schedRel = join(dir, "scheduler.pt");
  if (client?.state === "present" && client.view.lastEpoch !== undefined && (await loader.exists(schedRel))) {
    const decoded = await loader.decode(schedRel);
    const host = decoded.value === undefined ? undefined : readScheduler(decoded.value, { where: schedRel, required: true });
    const hostEpoch = host?.state === "present" ? host.view.lastEpoch : undefined;
    if (hostEpoch !== undefined && hostEpoch !== client.view.lastEpoch) {
      out.push(finding("warn", "DS_SCHEDULER_COPIES_DISAGREE", { hostEpoch, dsEpoch: client.view.lastEpoch, file: d.ref?.entry.rel }, schedRel));
    }
  }
  return out;
}
