import type { NormalisedCheckpoint } from "../layouts/types.js";
import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("directory");

export const directoryCheck = defineCheck({
  id: "directory",
  title: "Checkpoint path",
  codes: ["PATH_OK", "PATH_NOT_FOUND", "PATH_NOT_DIRECTORY", "PATH_UNREADABLE", "RUN_FOLDER_RESOLVED", "LAYOUT_DETECTED", "LAYOUT_UNRECOGNISED", "NO_CHECKPOINT_FILES", "RESUME_WEIGHTS_ONLY", "REMOTE_READ_FAILED"],
  run({ path, checkpoint: c }) {
    const res = c.resolved;
    const resolved = res && r.info("RUN_FOLDER_RESOLVED", { from: res.from, to: res.to, framework: res.framework, rule: res.rule, others: res.others });
    if (!c.pathStatus.ok) return findings(resolved, { ...r.error(c.pathStatus.problem.code, c.pathStatus.problem.data) });
    return findings(
      resolved,
      r.pass("PATH_OK", { path, kind: c.pathStatus.kind }),
      // A remote read that failed anywhere fails the run, whatever the reader made of it.
      ...(c.readFailures ?? []).map((f) => r.error("REMOTE_READ_FAILED", f)),
      r.info("LAYOUT_DETECTED", { layout: c.layout, reason: c.reason }),
      c.layout === "generic" && (c.genericCount ?? 0) === 0 ? r.error("NO_CHECKPOINT_FILES", { path }) : resumable(path, c),
    );
  },
});

/** A layout that could not name the training state's files says which hold an optimizer: none, but weights, cannot resume. */
function resumable(path: string, c: NormalisedCheckpoint) {
  const resume = c.resume;
  if (resume?.optimizerFiles === undefined) return undefined;
  const tensors = resume.tensorFiles ?? [];
  if (resume.optimizerFiles.length === 0 && tensors.length > 0) return r.error("RESUME_WEIGHTS_ONLY", { path, files: tensors.slice(0, 5).join(", ") + (tensors.length > 5 ? ", ..." : "") });
  return r.warn("LAYOUT_UNRECOGNISED", { path, count: c.genericCount ?? 0 });
}
