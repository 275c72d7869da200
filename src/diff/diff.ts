import { optimizerSteps } from "../checks/helpers/steps.js";
import { formatNumber } from "../findings/finding.js";
import type { NormalisedCheckpoint, WeightTensor } from "../layouts/types.js";

export interface Change {
  what: string;
  a: string;
  b: string;
}

export interface CheckpointDiff {
  a: string;
  b: string;
  layouts: [string, string];
  /** Counters, learning rates and optimizer settings that differ. */
  changed: Change[];
  /** Tensors whose shape or dtype differ, by name. */
  tensorsChanged: Change[];
  onlyInA: string[];
  onlyInB: string[];
  tensorsCompared: number;
}

/**
 * What changed between two checkpoints of the same run: a pure function of
 * their normalised views, for "what changed between the last good
 * checkpoint and this one?".
 */
export function diffCheckpoints(a: NormalisedCheckpoint, b: NormalisedCheckpoint): CheckpointDiff {
  const scalarsA = scalars(a);
  const scalarsB = scalars(b);
  const changed: Change[] = [];
  for (const key of new Set([...scalarsA.keys(), ...scalarsB.keys()])) {
    const [x, y] = [scalarsA.get(key) ?? "absent", scalarsB.get(key) ?? "absent"];
    if (x !== y) changed.push({ what: key, a: x, b: y });
  }
  const ta = tensors(a);
  const tb = tensors(b);
  const tensorsChanged: Change[] = [];
  for (const [name, t] of ta) {
    const u = tb.get(name);
    if (u && describe(t) !== describe(u)) tensorsChanged.push({ what: name, a: describe(t), b: describe(u) });
  }
  return {
    a: a.root,
    b: b.root,
    layouts: [a.layout, b.layout],
    changed,
    tensorsChanged,
    onlyInA: [...ta.keys()].filter((n) => !tb.has(n)),
    onlyInB: [...tb.keys()].filter((n) => !ta.has(n)),
    tensorsCompared: [...ta.keys()].filter((n) => tb.has(n)).length,
  };
}

function scalars(c: NormalisedCheckpoint): Map<string, string> {
  const out = new Map<string, string>();
  const put = (k: string, v: number | string | undefined) => v !== undefined && out.set(k, typeof v === "number" ? formatNumber(v) : v);
  if (c.progress.state === "present") {
    const p = c.progress.view;
    put("epoch", p.epoch);
    put("step", p.stepInEpoch);
    put("total_batches", p.batchesPerEpoch);
    put("global_step", p.globalStep);
    put("gradient_accumulation_steps", p.gradAccum);
    put("expected optimizer steps", p.expectedOptimizerSteps);
  }
  if (c.optimizer.state === "present") {
    const o = c.optimizer.view;
    put("optimizer steps", optimizerSteps(o).steps);
    put("optimizer parameter states", o.stateCount);
    for (const [k, v] of o.hyper) put(`optimizer ${k}`, v);
  }
  if (c.scheduler.state === "present") {
    const s = c.scheduler.view;
    put("scheduler kind", s.kind);
    put("scheduler last_epoch", s.lastEpoch);
    put("scheduler _last_lr", s.lastLr.map(formatNumber).join(", "));
    put("scheduler base_lrs", s.baseLrs.map(formatNumber).join(", "));
  }
  if (c.scaler.state === "present") put("AMP loss scale", c.scaler.view.scale);
  return out;
}

function tensors(c: NormalisedCheckpoint): Map<string, WeightTensor> {
  return new Map((c.weights?.files ?? []).flatMap((f) => f.tensors).map((t) => [t.name, t]));
}

const describe = (t: WeightTensor) => `${t.dtype}[${t.shape.join(", ")}]`;
