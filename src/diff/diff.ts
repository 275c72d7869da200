import { formatNumber } from "../findings/finding.js";
import type { NormalisedCheckpoint, WeightTensor } from "../layouts/types.js";
import type { Facts } from "../verify/schema.js";
import { factsOf } from "../verify/facts.js";

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

/** The facts the JSON report already derives, under the names the diff shows (learning rates come from the optimizer's settings below). */
const FACT_LABELS: Partial<Record<keyof Facts, string>> = {
  epoch: "epoch",
  step: "step",
  totalBatches: "total_batches",
  globalStep: "global_step",
  gradientAccumulationSteps: "gradient_accumulation_steps",
  expectedOptimizerSteps: "expected optimizer steps",
  optimizerSteps: "optimizer steps",
  schedulerLastEpoch: "scheduler last_epoch",
  lossScale: "AMP loss scale",
};

function scalars(c: NormalisedCheckpoint): Map<string, string> {
  const out = new Map<string, string>();
  const facts = factsOf(c);
  for (const [key, label] of Object.entries(FACT_LABELS) as [keyof Facts, string][]) {
    const v = facts[key];
    if (v !== undefined) out.set(label, formatNumber(v));
  }
  if (c.optimizer.state === "present") {
    out.set("optimizer parameter states", String(c.optimizer.view.stateCount));
    for (const [k, v] of c.optimizer.view.hyper) out.set(`optimizer ${k}`, v);
  }
  if (c.scheduler.state === "present") {
    const s = c.scheduler.view;
    if (s.kind) out.set("scheduler kind", s.kind);
    out.set("scheduler _last_lr", s.lastLr.map(formatNumber).join(", "));
    out.set("scheduler base_lrs", s.baseLrs.map(formatNumber).join(", "));
  }
  return out;
}

function tensors(c: NormalisedCheckpoint): Map<string, WeightTensor> {
  return new Map((c.weights?.files ?? []).flatMap((f) => f.tensors).map((t) => [t.name, t]));
}

const describe = (t: WeightTensor) => `${t.dtype}[${t.shape.join(", ")}]`;
