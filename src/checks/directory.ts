import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("directory");

export const directoryCheck = defineCheck({
  id: "directory",
  title: "Checkpoint path",
  codes: ["PATH_OK", "PATH_NOT_FOUND", "PATH_NOT_DIRECTORY", "PATH_UNREADABLE", "LAYOUT_DETECTED", "LAYOUT_UNRECOGNISED", "NO_CHECKPOINT_FILES", "REMOTE_READ_FAILED"],
  run({ path, checkpoint: c }) {
    if (!c.pathStatus.ok) return findings({ ...r.error(c.pathStatus.problem.code, c.pathStatus.problem.data) });
    return findings(
      r.pass("PATH_OK", { path, kind: c.pathStatus.kind }),
      // A remote read that failed anywhere fails the run, whatever the reader made of it.
      ...(c.readFailures ?? []).map((f) => r.error("REMOTE_READ_FAILED", f)),
      r.info("LAYOUT_DETECTED", { layout: c.layout, reason: c.reason }),
      c.layout === "generic" && (c.genericCount ?? 0) === 0
        ? r.error("NO_CHECKPOINT_FILES", { path })
        : c.layout === "generic" && r.warn("LAYOUT_UNRECOGNISED", { path, count: c.genericCount ?? 0 }),
    );
  },
});
