import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../helpers.js";

/**
 * Runs the Python helper's own unittest suite (python/test_verify_checkpoint.py)
 * with the machine's python3, against this build of the CLI, so `npm test`
 * covers it. Skipped, saying so, where there is no python3.
 */
const python = spawnSync("python3", ["--version"], { encoding: "utf8" });
const NO_PYTHON = python.status === 0 ? false : "python3 is not installed";

it("python/verify_checkpoint.py: python3 -m unittest discover -s python", { skip: NO_PYTHON }, () => {
  const r = spawnSync("python3", ["-m", "unittest", "discover", "-s", "python", "-v"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
    // This build's CLI, whatever is on PATH; no __pycache__ left in the tree.
    env: { ...process.env, VERIFY_CHECKPOINT_BIN: join(ROOT, "bin", "verify-checkpoint.js"), PYTHONDONTWRITEBYTECODE: "1" },
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /^OK$/m, r.stderr);
});
