#!/usr/bin/python3
"""Write a torchtitan step-N folder saved by RANKS ranks (torch.distributed.checkpoint).

    /usr/bin/python3 bench/generate_dcp.py OUT_DIR RANKS

The same writer as the fixtures (fixtures/gen_dcp.py: real torch.save slices in
__R_0.distcp files, .metadata pickled under DCP's module and class names): an MLP of
LAYERS Linear layers of width 4 x RANKS, every parameter and Adam moment sharded by
rows over the ranks (one chunk per rank), the step tensors, param_groups, LR
scheduler, one dataloader item per rank and train_state as non-tensor items. Small
tensors: what grows with RANKS is the number of files, chunks and items, which is
what default mode reads. Written as OUT_DIR.partial and renamed at the end.
"""
import os
import shutil
import sys
import warnings

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))

import torch  # noqa: E402

import gen_common  # noqa: E402
import gen_dcp  # noqa: E402

LAYERS = 8


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: /usr/bin/python3 bench/generate_dcp.py OUT_DIR RANKS", file=sys.stderr)
        return 2
    out, ranks = sys.argv[1], int(sys.argv[2])
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    gen_common.set_root(os.path.dirname(out) or ".")
    width = 4 * ranks
    sizes = (width,) * (LAYERS + 1)
    model = torch.nn.Sequential(*[torch.nn.Linear(sizes[i], sizes[i + 1]) for i in range(LAYERS)])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    x = torch.randn(4, width)
    model(x).sum().backward()
    opt.step()
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    sd["optimizer"] = gen_dcp.fqn_optimizer_state(model, opt, 1000)
    sd["lr_scheduler"] = gen_dcp.lambda_scheduler(opt, 1000)
    sd["dataloader"] = {f"dp_rank_{r}": bytes(64) for r in range(ranks)}
    sd["dataloader"]["world_size"] = ranks
    sd["train_state"] = {"step": 1000, "ntokens_seen": 1000 * 2048 * ranks}
    flat, paths = gen_dcp.flatten(sd, "2.7")
    plans = gen_dcp.plan_ranks(flat, ranks, "2.7", owner=gen_dcp.owner_of(ranks))
    partial = out + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    gen_dcp.write_dcp(partial, flat, plans, "2.7", paths=paths, checkpoint_id="/runs/bench/step-1000")
    shutil.rmtree(out, ignore_errors=True)
    os.rename(partial, out)
    files = os.listdir(out)
    print(f"wrote {out}: {len(files)} files, {sum(os.path.getsize(os.path.join(out, f)) for f in files)} bytes, {ranks} ranks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
