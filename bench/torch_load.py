#!/usr/bin/python3
"""The original pipeline's way of checking a training-state checkpoint, for comparison.

    /usr/bin/python3 bench/torch_load.py DIR

torch.load(DIR/training_state.pth, map_location="cpu") (which reads every tensor
into memory), then epoch / step / total_batches and the optimizer's per-parameter
step counts. Exits 0 when they could be read.
"""
import json
import os
import sys

import torch


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: /usr/bin/python3 bench/torch_load.py DIR", file=sys.stderr)
        return 2
    directory = sys.argv[1]
    with open(os.path.join(directory, "config.json")) as f:
        json.load(f)
    state = torch.load(os.path.join(directory, "training_state.pth"), map_location="cpu")
    epoch, step, total = state["epoch"], state["step"], state["total_batches"]
    steps = {int(s["step"]) for s in state["optimizer_state_dict"]["state"].values() if "step" in s}
    expected = epoch * total + step
    print(f"epoch={epoch} step={step} total_batches={total} expected={expected} optimizer_steps={sorted(steps)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
