#!/usr/bin/python3
"""Write a "training-state" checkpoint of a mixture-of-experts model with N_TENSORS small tensors.

    /usr/bin/python3 bench/generate_many_tensors.py OUT_DIR N_TENSORS [N_SHARDS]

The axis this case grows is the tensor count, not the bytes: a MoE model holds
one tensor per expert matrix, its AdamW state three zip records per tensor
(`step`, `exp_avg`, `exp_avg_sq`), and its weights a sharded safetensors set
whose index maps every tensor. So:

- model-0000k-of-0000N.safetensors + model.safetensors.index.json: N_TENSORS
  float32 expert matrices (w1 [15, 16], w2 [16, 15], w3 [15, 16], as Mixtral
  names them), split into N_SHARDS shards (default 16, 32 above 32,768 tensors),
  written by hand in the safetensors format as transformers' sharding does.
- training_state.pth: torch.save of epoch 2, step 0, total_batches 1270, a real
  AdamW state_dict over those parameters (param_groups from torch, per parameter
  `step = tensor(2532.)`, `exp_avg`, `exp_avg_sq`), a CosineAnnealingLR stepped
  2532 times, a GradScaler state, best_val_f1, best_val_acc. Three storage
  records per tensor: above 21,845 tensors the zip has more than 65,535 records,
  which only ZIP64's end record can count.
- config.json.

Every tensor has 240 elements, so the folder is about 3.9 KB per tensor (79 MB
at 20,000, 275 MB at 70,000). The folder is written as OUT_DIR.partial and
renamed at the end.
"""
import json
import os
import shutil
import struct
import sys

import torch
import torch.nn as nn

EPOCH, STEP, TOTAL_BATCHES, OPTIMIZER_STEPS = 2, 0, 1270, 2532
LR, EPOCHS = 3e-5, 10
HIDDEN, FF = 16, 15
MATRICES = (("w1", (FF, HIDDEN)), ("w2", (HIDDEN, FF)), ("w3", (FF, HIDDEN)))
EXPERTS_PER_LAYER = 64


def tensor_names(n):
    """Mixtral-style expert matrix names, layer by layer, expert by expert."""
    out = []
    i = 0
    while len(out) < n:
        layer, expert = divmod(i, EXPERTS_PER_LAYER)
        for w, shape in MATRICES:
            if len(out) < n:
                out.append((f"model.layers.{layer}.block_sparse_moe.experts.{expert}.{w}.weight", shape))
        i += 1
    return out


def write_shards(folder, names, n_shards, gen):
    """Shards of consecutive tensors, each a safetensors file written by hand, and the index."""
    per = -(-len(names) // n_shards)
    weight_map = {}
    total = 0
    for k in range(n_shards):
        group = names[k * per:(k + 1) * per]
        fname = f"model-{k + 1:05d}-of-{n_shards:05d}.safetensors"
        header = {"__metadata__": {"format": "pt"}}
        offset = 0
        for name, shape in group:
            nbytes = shape[0] * shape[1] * 4
            header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
            offset += nbytes
            weight_map[name] = fname
        raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
        raw += b" " * (-len(raw) % 8)
        with open(os.path.join(folder, fname), "wb") as f:
            f.write(struct.pack("<Q", len(raw)))
            f.write(raw)
            for _, shape in group:
                f.write((torch.randn(shape, generator=gen) * 0.02).numpy().astype("<f4", copy=False).tobytes())
        total += offset
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out_dir, n = sys.argv[1], int(sys.argv[2])
    n_shards = int(sys.argv[3]) if len(sys.argv) == 4 else (16 if n <= 32768 else 32)
    tmp = out_dir.rstrip("/") + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    gen = torch.Generator().manual_seed(0)
    names = tensor_names(n)
    write_shards(tmp, names, n_shards, gen)

    # Parameters on the meta device: real AdamW param_groups and scheduler state, no memory.
    params = [nn.Parameter(torch.empty(shape, device="meta")) for _, shape in names]
    optimizer = torch.optim.AdamW(params, lr=LR, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS * TOTAL_BATCHES)
    optimizer.step()  # no grads: a no-op that keeps the scheduler from warning
    for _ in range(OPTIMIZER_STEPS):
        scheduler.step()
    opt_sd = optimizer.state_dict()
    opt_sd["state"] = {
        i: {
            "step": torch.tensor(float(OPTIMIZER_STEPS)),
            "exp_avg": torch.randn(shape, generator=gen).mul_(1e-3),
            "exp_avg_sq": torch.randn(shape, generator=gen).square_().mul_(1e-6),
        }
        for i, (_, shape) in enumerate(names)
    }
    training_state = {
        "epoch": EPOCH,
        "step": STEP,
        "total_batches": TOTAL_BATCHES,
        "optimizer_state_dict": opt_sd,
        "scheduler_state_dict": scheduler.state_dict(),
        "scaler_state_dict": {"scale": 32768.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                              "growth_interval": 2000, "_growth_tracker": 532},
        "best_val_f1": 0.8731,
        "best_val_acc": 0.9012,
    }
    torch.save(training_state, os.path.join(tmp, "training_state.pth"))
    del training_state, opt_sd

    config = {"model_type": "mixtral", "num_local_experts": EXPERTS_PER_LAYER, "hidden_size": HIDDEN,
              "intermediate_size": FF, "num_hidden_layers": -(-n // (3 * EXPERTS_PER_LAYER)),
              "torch_dtype": "float32", "learning_rate": LR, "epochs": EPOCHS}
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp, out_dir)
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"{out_dir}: {n} tensors in {n_shards} shards, {3 * n} optimizer records, {total / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
