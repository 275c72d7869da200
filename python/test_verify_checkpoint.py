"""Tests of the Python helper against the repository's fixtures.

Run from the repository root after `npm run build`:
    python3 -m unittest discover -s python
The CLI under test is the repository's bin/verify-checkpoint.js unless
VERIFY_CHECKPOINT_BIN is set (the npm test sets nothing: it tests the build).
"""

import os
import stat
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

from verify_checkpoint import CheckpointVerificationError, quick_verify_checkpoint, verify_checkpoint_report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "checkpoints" / "training-state"
BIN = os.environ.get("VERIFY_CHECKPOINT_BIN") or str(ROOT / "bin" / "verify-checkpoint.js")


class QuickVerifyCheckpoint(unittest.TestCase):
    def setUp(self):
        patcher = mock.patch.dict(os.environ, {"VERIFY_CHECKPOINT_BIN": BIN})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_ok_returns_the_facts(self):
        facts = quick_verify_checkpoint(FIXTURES / "ok")
        self.assertEqual(facts["epoch"], 2)
        self.assertEqual(facts["step"], 0)
        self.assertEqual(facts["totalBatches"], 1270)
        self.assertEqual(facts["optimizerSteps"], 2532)
        self.assertEqual(facts["expectedOptimizerSteps"], 2540)
        self.assertAlmostEqual(facts["learningRate"], 1.8090169943749538e-05)

    def test_accepts_str_and_pathlike(self):
        self.assertEqual(quick_verify_checkpoint(str(FIXTURES / "ok")), quick_verify_checkpoint(FIXTURES / "ok"))

    def test_error_raises_with_the_errors(self):
        with self.assertRaises(CheckpointVerificationError) as ctx:
            quick_verify_checkpoint(FIXTURES / "error-missing-key")
        err = ctx.exception
        codes = [e["code"] for e in err.errors]
        self.assertIn("STATE_KEY_MISSING", codes)
        self.assertIn("STATE_KEY_MISSING", str(err))
        self.assertIn("total_batches", str(err))
        self.assertEqual(err.report["status"], "failed")
        self.assertEqual(err.errors[0]["check"], "training-state")

    def test_warnings_pass_unless_strict(self):
        with self.assertLogs("verify_checkpoint", level="WARNING") as logs:
            facts = quick_verify_checkpoint(FIXTURES / "warn-no-scaler")
        self.assertEqual(facts["epoch"], 2)
        self.assertIn("SCALER_STATE_MISSING", "\n".join(logs.output))
        with self.assertRaises(CheckpointVerificationError) as ctx:
            quick_verify_checkpoint(FIXTURES / "warn-no-scaler", strict=True)
        self.assertEqual([e["code"] for e in ctx.exception.errors], ["SCALER_STATE_MISSING"])
        self.assertIn("strict mode", str(ctx.exception))

    def test_missing_path_is_a_failed_verification(self):
        with self.assertRaises(CheckpointVerificationError) as ctx:
            quick_verify_checkpoint(FIXTURES / "does-not-exist")
        self.assertEqual(ctx.exception.errors[0]["code"], "PATH_NOT_FOUND")

    def test_report_is_returned_whole(self):
        report = verify_checkpoint_report(FIXTURES / "ok", tolerance=5)
        self.assertEqual(report["status"], "passed_with_warnings")
        self.assertIn("OPTIMIZER_STEP_MISMATCH", [f["code"] for c in report["checks"] for f in c["findings"]])

    def test_usage_and_internal_errors_are_runtime_errors(self):
        with self.assertRaises(RuntimeError) as ctx:
            quick_verify_checkpoint(FIXTURES / "ok", extra_args=["--no-such-flag"])
        self.assertIn("exited 2", str(ctx.exception))
        with tempfile.TemporaryDirectory() as tmp:
            fake = Path(tmp) / "fake-cli"
            fake.write_text("#!/bin/sh\necho 'internal error' >&2\nexit 3\n")
            fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
            with mock.patch.dict(os.environ, {"VERIFY_CHECKPOINT_BIN": str(fake)}):
                with self.assertRaises(RuntimeError) as ctx:
                    quick_verify_checkpoint(FIXTURES / "ok")
            self.assertIn("exited 3", str(ctx.exception))
            self.assertNotIsInstance(ctx.exception, CheckpointVerificationError)

    def test_a_missing_cli_is_a_runtime_error(self):
        with mock.patch.dict(os.environ, {"VERIFY_CHECKPOINT_BIN": "/nonexistent/verify-checkpoint"}):
            with self.assertRaises(RuntimeError):
                quick_verify_checkpoint(FIXTURES / "ok")


if __name__ == "__main__":
    unittest.main()
