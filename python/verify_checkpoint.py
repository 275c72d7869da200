"""Verify a training checkpoint before resuming, from Python.

A drop-in for the original pipeline's ``quick_verify_checkpoint``: it runs
the ``verify-checkpoint`` CLI (Node.js) with ``--json`` and

* returns the report's ``facts`` (epoch, step, optimizerSteps, learningRate,
  ...) when the checkpoint passes (warnings are logged, not raised, unless
  ``strict=True``);
* raises :class:`CheckpointVerificationError` listing the problems when it
  fails;
* raises :class:`RuntimeError` when the tool could not run (not installed,
  usage error, internal error): never a silent pass.

Standard library only, so it can be copied next to any training script.

The CLI is found, in order, through ``$VERIFY_CHECKPOINT_BIN`` (a path to the
executable, or to ``bin/verify-checkpoint.js``), ``verify-checkpoint`` on
``PATH`` (``npm install -g``), and ``node ../bin/verify-checkpoint.js``
relative to this file (a clone of the repository, built with
``npm run build``).

    from verify_checkpoint import quick_verify_checkpoint
    facts = quick_verify_checkpoint("checkpoints/best_model", strict=True)
    start_epoch, start_step = facts["epoch"], facts["step"]
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

__all__ = ["quick_verify_checkpoint", "verify_checkpoint_report", "CheckpointVerificationError"]

log = logging.getLogger("verify_checkpoint")

# The CLI's exit codes (see the contract): 0 passed, 1 failed, 2 usage, 3 internal.
EXIT_FAILED = 1


class CheckpointVerificationError(Exception):
    """The checkpoint must not be resumed from.

    ``report`` is the full JSON report (a dict); ``errors`` the findings that
    failed it (each a dict with ``check``, ``level``, ``code``, ``message``
    and maybe ``file``): the errors, plus the warnings in strict mode.
    """

    def __init__(self, path: str, report: Dict[str, Any]) -> None:
        self.path = path
        self.report = report
        strict = bool(report.get("strict"))
        self.errors: List[Dict[str, Any]] = [
            dict(f, check=c.get("id"))
            for c in report.get("checks", [])
            for f in c.get("findings", [])
            if f.get("level") == "error" or (strict and f.get("level") == "warn")
        ]
        lines = [f"checkpoint {path} failed verification ({len(self.errors)} problem(s){', strict mode' if strict else ''}):"]
        lines += [f"  - [{e.get('code')}] {e.get('check')}: {e.get('message')}" for e in self.errors]
        lines.append("Run `verify-checkpoint explain CODE` for what a code means and what to do.")
        super().__init__("\n".join(lines))


def _cli_command() -> List[str]:
    env = os.environ.get("VERIFY_CHECKPOINT_BIN")
    if env:
        return _with_node(env)
    on_path = shutil.which("verify-checkpoint")
    if on_path:
        return [on_path]
    repo_bin = Path(__file__).resolve().parent.parent / "bin" / "verify-checkpoint.js"
    if repo_bin.is_file():
        return _with_node(str(repo_bin))
    raise RuntimeError(
        "verify-checkpoint not found: install it (npm install -g verify-checkpoint), "
        "or set VERIFY_CHECKPOINT_BIN to its path"
    )


def _with_node(path: str) -> List[str]:
    # A .js entry point may lack the executable bit (a fresh clone on some systems): run it with node.
    if not path.endswith(".js"):
        return [path]
    node = shutil.which("node")
    if not node:
        raise RuntimeError(f"node (Node.js 20 or later) is needed to run {path} and is not on PATH")
    return [node, path]


def verify_checkpoint_report(
    checkpoint_path: Union[str, "os.PathLike[str]"],
    strict: bool = False,
    *,
    tolerance: Optional[int] = None,
    gradient_accumulation_steps: Optional[int] = None,
    extra_args: Sequence[str] = (),
    timeout: Optional[float] = None,
) -> Dict[str, Any]:
    """Runs the CLI and returns the whole JSON report, passed or failed.

    Raises RuntimeError when the tool could not run or did not produce a report.
    """
    path = os.fspath(checkpoint_path)
    args = [*_cli_command(), "--checkpoint_path", path, "--json"]
    if strict:
        args.append("--strict")
    if tolerance is not None:
        args += ["--tolerance", str(tolerance)]
    if gradient_accumulation_steps is not None:
        args += ["--gradient-accumulation-steps", str(gradient_accumulation_steps)]
    args += list(extra_args)
    env = dict(os.environ, NO_COLOR="1")
    try:
        proc = subprocess.run(args, capture_output=True, text=True, encoding="utf-8", timeout=timeout, env=env, check=False)
    except OSError as e:
        raise RuntimeError(f"could not run verify-checkpoint ({args[0]}): {e}") from e
    if proc.returncode not in (0, EXIT_FAILED):
        raise RuntimeError(f"verify-checkpoint exited {proc.returncode} on {path}: {proc.stderr.strip() or proc.stdout.strip()}")
    try:
        report = json.loads(proc.stdout)
    except ValueError as e:
        # Exit 1 without a report: the tool could not do its job (e.g. an unwritable output), not a verdict.
        raise RuntimeError(f"verify-checkpoint gave no JSON report on {path} (exit {proc.returncode}): {proc.stderr.strip()}") from e
    if not isinstance(report, dict) or "status" not in report:
        raise RuntimeError(f"verify-checkpoint printed something that is not a report on {path}")
    return report


def quick_verify_checkpoint(
    checkpoint_path: Union[str, "os.PathLike[str]"],
    strict: bool = False,
    **options: Any,
) -> Dict[str, Any]:
    """Verifies the checkpoint; returns its facts when it passes.

    Raises CheckpointVerificationError (with ``.errors`` and ``.report``) when
    it fails, RuntimeError when the tool could not run. Keyword options are
    those of :func:`verify_checkpoint_report` (tolerance,
    gradient_accumulation_steps, extra_args, timeout).
    """
    report = verify_checkpoint_report(checkpoint_path, strict, **options)
    if report.get("exitCode") == EXIT_FAILED or report.get("status") == "failed":
        raise CheckpointVerificationError(os.fspath(checkpoint_path), report)
    for check in report.get("checks", []):
        for f in check.get("findings", []):
            if f.get("level") == "warn":
                log.warning("%s: %s [%s]", check.get("id"), f.get("message"), f.get("code"))
    facts = report.get("facts")
    return dict(facts) if isinstance(facts, dict) else {}
