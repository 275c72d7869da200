#!/usr/bin/python3
"""Write a "training-state" checkpoint folder of about SIZE_GB gigabytes (10^9 bytes).

    /usr/bin/python3 bench/generate_checkpoint.py OUT_DIR SIZE_GB

The folder holds what the original pipeline saved after epoch 2:

- model.safetensors: an MLP of N_LAYERS Linear layers (weight + bias each, float32),
  written by hand (u64 LE header length, JSON header padded to 8 bytes, raw
  little-endian data) one tensor at a time, so the generator never holds the weights.
- training_state.pth: torch.save of {epoch: 2, step: 0, total_batches: 1270,
  optimizer_state_dict (AdamW, exp_avg + exp_avg_sq per parameter, step =
  tensor(2532.)), scheduler_state_dict (CosineAnnealingLR), scaler_state_dict,
  best_val_f1, best_val_acc}. The optimizer state is twice the weights, so the
  training state is ~2/3 of the folder.
- config.json.

Only the layer width changes with SIZE_GB; the number of tensors (2 * N_LAYERS
parameters) and the pickle's structure stay the same, so runs on different sizes
compare like with like. The folder is written as OUT_DIR.partial and renamed at
the end, so an interrupted run never leaves something that looks complete.
"""
import json
import math
import os
import shutil
import struct
import sys

import torch
import torch.nn as nn

N_LAYERS = 150  # 300 parameters: the structure is the same at every size
EPOCH, STEP, TOTAL_BATCHES, OPTIMIZER_STEPS = 2, 0, 1270, 2532
LR, EPOCHS = 3e-5, 10


def width_for(size_bytes: float) -> int:
    # weights 4P bytes + exp_avg 4P + exp_avg_sq 4P = 12P, P = N_LAYERS * (d*d + d)
    p = size_bytes / 12 / N_LAYERS
    return max(8, int((-1 + math.sqrt(1 + 4 * p)) / 2))


def write_safetensors(path: str, params: list, gen: torch.Generator) -> None:
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, p in params:
        n = p.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(p.shape), "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, p in params:  # one tensor in memory at a time
            t = torch.randn(p.shape, generator=gen) * 0.02
            f.write(t.numpy().astype("<f4", copy=False).tobytes())
            del t


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out_dir, size_gb = sys.argv[1], float(sys.argv[2])
    d = width_for(size_gb * 1e9)
    tmp = out_dir.rstrip("/") + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    gen = torch.Generator().manual_seed(0)

    # The model on the meta device: real names, shapes and optimizer structure, no memory.
    model = nn.Sequential(*[nn.Linear(d, d, device="meta") for _ in range(N_LAYERS)])
    params = [("layers." + name, p) for name, p in model.named_parameters()]
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS * TOTAL_BATCHES)
    optimizer.step()  # no grads: a no-op that keeps the scheduler from warning
    for _ in range(OPTIMIZER_STEPS):
        scheduler.step()

    write_safetensors(os.path.join(tmp, "model.safetensors"), params, gen)

    opt_sd = optimizer.state_dict()
    state = {}
    for i, (_, p) in enumerate(params):
        state[i] = {
            "step": torch.tensor(float(OPTIMIZER_STEPS)),
            "exp_avg": torch.randn(p.shape, generator=gen).mul_(1e-3),
            "exp_avg_sq": torch.randn(p.shape, generator=gen).square_().mul_(1e-6),
        }
    opt_sd["state"] = state
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
    del training_state, opt_sd, state

    config = {"model_type": "mlp", "num_layers": N_LAYERS, "hidden_size": d,
              "torch_dtype": "float32", "learning_rate": LR, "epochs": EPOCHS}
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp, out_dir)
    total = sum(os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir))
    print(f"{out_dir}: {N_LAYERS} Linear({d}, {d}) layers, {2 * N_LAYERS} tensors, {total / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
