#!/usr/bin/python3
"""Write a DeepSpeed save folder of RANKS data-parallel ranks with real torch and small tensors.

    /usr/bin/python3 bench/generate_deepspeed.py OUT_DIR [RANKS] [ZERO_STAGE]

The files are what engine.save_checkpoint writes (fixtures/gen_deepspeed_engine.py simulates the
engine under DeepSpeed's own names): `latest`, `zero_to_fp32.py` and `global_step500/` with the
model-states file(s) and one `bf16_zero_pp_rank_R_mp_rank_00_optim_states.pt` per rank (ZeRO-3:
also one `zero_pp_rank_R_mp_rank_00_model_states.pt` per rank). The model is
Linear(64, 8192) + ReLU + Linear(8192, 64): large enough that DeepSpeed's padding to 2 x RANKS
fits in the last partition, small enough that the folder is a few tens of MB. Written as
OUT_DIR.partial and renamed at the end.
"""
import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))

import torch  # noqa: E402

import gen_deepspeed_engine as ds  # noqa: E402
from gen_common import tiny_model  # noqa: E402


def main() -> int:
    if len(sys.argv) not in (2, 3, 4):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out = sys.argv[1]
    ranks = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    stage = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.manual_seed(0)
    torch.set_num_threads(1)
    tmp = out.rstrip("/") + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    run = ds.Run(dp=ranks, stage=stage, precision="bf16", sched="ds", step_int=stage != 3, global_steps=500)
    run.model = tiny_model(0, sizes=(64, 8192, 64))
    files = ds.save_tag(tmp, "global_step500", run)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    print(f"{out}: ZeRO-{stage}, {ranks} ranks, {len(files)} rank files, {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
