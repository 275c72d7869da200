import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("recorded-paths");

/**
 * Paths the training state keeps to other checkpoints (Trainer's
 * best_model_checkpoint, Lightning ModelCheckpoint's paths), looked up as the
 * framework will. A missing one bites after the resume started, often at the
 * end of the run: a warning, or information when the configuration never reads it.
 */
export const recordedPathsCheck = defineCheck({
  id: "recorded-paths",
  title: "Paths recorded in the state exist",
  codes: ["RECORDED_PATHS_OK", "RECORDED_PATH_MISSING"],
  run({ checkpoint: c }) {
    const paths = c.resume?.recordedPaths ?? [];
    if (paths.length === 0) return { skip: "the state records no paths to other checkpoints" };
    const present = paths.filter((p) => p.exists);
    return findings(
      present.length > 0 && r.pass("RECORDED_PATHS_OK", { count: present.length, where: [...new Set(present.map((p) => p.where))].join(", ") }),
      paths
        .filter((p) => !p.exists)
        .map((p) =>
          r.at(p.unused ? "info" : "warn")("RECORDED_PATH_MISSING", {
            where: p.where,
            path: p.path,
            beside: p.nextToCheckpoint ? ` (one of that name is next to this checkpoint, ${p.nextToCheckpoint}: the run folder moved?)` : "",
            nextToCheckpoint: p.nextToCheckpoint,
            consequence: p.consequence,
          }),
        ),
    );
  },
});
