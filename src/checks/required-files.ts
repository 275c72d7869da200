import { formatBytes } from "../core/units.js";
import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("required-files");

export const requiredFilesCheck = defineCheck({
  id: "required-files",
  title: "Required files",
  codes: ["FILE_PRESENT", "FILE_MISSING", "FILE_EMPTY", "FILE_NOT_REGULAR", "FILE_UNREADABLE", "FILE_IS_LFS_POINTER", "FILE_IS_HTML", "FILE_ALL_ZEROS", "FILE_WRONG_FORMAT", "WEIGHTS_MISSING", "TEMP_FILES_PRESENT"],
  run({ checkpoint: c }) {
    if (!c.pathStatus.ok) return { skip: "the checkpoint path is not usable" };
    const out = c.expectedFiles.map((f) => {
      if (f.problem) {
        const level = f.required || f.problem.code !== "FILE_MISSING" ? "error" : "warn";
        return r.at(level)(f.problem.code, { file: f.rel, role: f.role, ...f.problem.data }, f.rel);
      }
      return r.pass("FILE_PRESENT", { file: f.rel, size: formatBytes(f.size ?? 0) }, f.rel);
    });
    const weights = c.weights;
    // Present but unusable weights (an LFS pointer, say) are reported above, not as missing.
    const noWeights = weights && weights.files.length === 0 && weights.unusable.length === 0 && !weights.index && weights.candidates.length > 0;
    return findings(
      out,
      noWeights && r.error("WEIGHTS_MISSING", { candidates: weights.candidates.join(", ") }),
      c.leftovers.length > 0 && r.warn("TEMP_FILES_PRESENT", { files: c.leftovers.join(", ") }),
    );
  },
});
