import type { VerifyOptions } from "../core/options.js";
import { diffCheckpoints } from "../diff/diff.js";
import { renderDiffJson, renderDiffText } from "../diff/render.js";
import { loadCheckpoint } from "../layouts/load.js";
import { DEFAULT_OPTIONS } from "../core/options.js";

/** `diff A B`: exit 0 with the differences, 1 when either checkpoint path is unusable. */
export async function runDiff(a: string, b: string, json: boolean, out: (s: string) => void, err: (s: string) => void, options: Partial<VerifyOptions> = {}): Promise<number> {
  const opts = { ...DEFAULT_OPTIONS, ...options };
  const [la, lb] = await Promise.all([loadCheckpoint(a, opts), loadCheckpoint(b, opts)]);
  try {
    for (const l of [la, lb]) {
      if (!l.checkpoint.pathStatus.ok) {
        err(`verify-checkpoint diff: ${l.checkpoint.root}: ${l.checkpoint.pathStatus.problem.code}\n`);
        return 1;
      }
      // A value that could not be read would show as changed or absent: no diff rather than a wrong one.
      const failed = l.checkpoint.readFailures?.[0];
      if (failed) {
        err(`verify-checkpoint diff: ${failed.object} could not be read: ${failed.reason}\n`);
        return 1;
      }
    }
    const d = diffCheckpoints(la.checkpoint, lb.checkpoint);
    out(json ? renderDiffJson(d) : renderDiffText(d));
    return 0;
  } finally {
    await Promise.all([la.close(), lb.close()]);
  }
}
