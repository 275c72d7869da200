import type { SchedulerView } from "./types.js";
import { PyDict, isDict, seqItems, toNumber } from "../formats/pickle/values.js";

/**
 * Closed forms of torch's built-in schedulers: the learning rate of one
 * parameter group at `last_epoch`, from the fields its state_dict holds.
 * Kinds are recognised by their state keys, since the state has no class name.
 */
type Formula = (base: number, e: number, f: (k: string) => number | undefined, s: SchedulerView) => number | undefined;

interface Kind {
  keys: string[];
  neverAboveBase: (f: (k: string) => number | undefined) => boolean;
  lr?: Formula;
}

export const SCHEDULER_KINDS: Record<string, Kind> = {
  OneCycleLR: { keys: ["total_steps", "_schedule_phases"], neverAboveBase: () => false },
  CyclicLR: { keys: ["max_lrs", "total_size"], neverAboveBase: () => false },
  CosineAnnealingWarmRestarts: { keys: ["T_0", "T_i", "T_cur"], neverAboveBase: () => true },
  CosineAnnealingLR: {
    keys: ["T_max", "eta_min"],
    neverAboveBase: () => true,
    lr: (base, e, f) => {
      const tMax = f("T_max");
      const etaMin = f("eta_min") ?? 0;
      if (!tMax) return undefined;
      return etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * e) / tMax))) / 2;
    },
  },
  MultiStepLR: {
    keys: ["milestones", "gamma"],
    neverAboveBase: (f) => (f("gamma") ?? 1) <= 1,
    lr: (base, e, f, s) => {
      const gamma = f("gamma");
      const milestones = milestoneCounts(s.fields.get("milestones"));
      if (gamma === undefined || !milestones) return undefined;
      const passed = milestones.filter(([m]) => m <= e).reduce((a, [, n]) => a + n, 0);
      return base * gamma ** passed;
    },
  },
  StepLR: {
    keys: ["step_size", "gamma"],
    neverAboveBase: (f) => (f("gamma") ?? 1) <= 1,
    lr: (base, e, f) => {
      const size = f("step_size");
      const gamma = f("gamma");
      return size && gamma !== undefined ? base * gamma ** Math.floor(e / size) : undefined;
    },
  },
  LinearLR: {
    keys: ["start_factor", "end_factor", "total_iters"],
    neverAboveBase: (f) => (f("start_factor") ?? 1) <= 1 && (f("end_factor") ?? 1) <= 1,
    lr: (base, e, f) => {
      const [a, b, n] = [f("start_factor"), f("end_factor"), f("total_iters")];
      if (a === undefined || b === undefined || !n) return undefined;
      return base * (a + ((b - a) * Math.min(e, n)) / n);
    },
  },
  ConstantLR: {
    keys: ["factor", "total_iters"],
    neverAboveBase: (f) => (f("factor") ?? 1) <= 1,
    lr: (base, e, f) => {
      const [factor, n] = [f("factor"), f("total_iters")];
      return factor === undefined || n === undefined ? undefined : e < n ? base * factor : base;
    },
  },
  PolynomialLR: {
    keys: ["power", "total_iters"],
    neverAboveBase: () => true,
    lr: (base, e, f) => {
      const [power, n] = [f("power"), f("total_iters")];
      return power === undefined || !n ? undefined : base * (1 - Math.min(e, n) / n) ** power;
    },
  },
  ExponentialLR: {
    keys: ["gamma"],
    neverAboveBase: (f) => (f("gamma") ?? 1) <= 1,
    lr: (base, e, f) => {
      const gamma = f("gamma");
      return gamma === undefined ? undefined : base * gamma ** e;
    },
  },
  LambdaLR: { keys: ["lr_lambdas"], neverAboveBase: () => false },
  MultiplicativeLR: { keys: ["lr_lambdas"], neverAboveBase: () => false },
};

/** The first kind (most specific first) whose keys are all in the state. */
export function inferSchedulerKind(fields: Map<string, unknown>): string | undefined {
  return Object.entries(SCHEDULER_KINDS).find(([, k]) => k.keys.every((key) => fields.has(key)))?.[0];
}

export function fieldNumber(s: SchedulerView): (k: string) => number | undefined {
  return (k) => {
    const v = s.fields.get(k);
    return v === undefined ? undefined : toNumber(v);
  };
}

/** Recomputed LR per group at last_epoch, or undefined when the kind has no closed form here. */
export function recomputeLrs(s: SchedulerView): number[] | undefined {
  const kind = s.kind ? SCHEDULER_KINDS[s.kind] : undefined;
  if (!kind?.lr || s.lastEpoch === undefined || s.baseLrs.length === 0) return undefined;
  const out: number[] = [];
  for (const base of s.baseLrs) {
    const lr = kind.lr(base, s.lastEpoch, fieldNumber(s), s);
    if (lr === undefined) return undefined;
    out.push(lr);
  }
  return out;
}

/** milestones pickle as a collections.Counter {milestone: count}, or in old torch as a list. */
function milestoneCounts(v: unknown): [number, number][] | undefined {
  if (isDict(v as never)) {
    return (v as PyDict).entries().map(([k, n]) => [toNumber(k) ?? NaN, toNumber(n) ?? 1] as [number, number]);
  }
  const items = seqItems(v as never);
  return items?.map((m) => [toNumber(m) ?? NaN, 1] as [number, number]);
}

export function closeEnough(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-12 + 1e-4 * Math.max(Math.abs(a), Math.abs(b));
}
