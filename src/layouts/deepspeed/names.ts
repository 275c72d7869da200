/**
 * DeepSpeed's rank file names (research/distributed-layouts.md §1.1), parsed.
 * Rank numbers come from file names an attacker may choose, so each is bounded
 * before it is used as a count or an index.
 */

/** Beyond any real run (the largest have tens of thousands of ranks); a bigger number is not DeepSpeed's. */
export const MAX_RANK = 1 << 20;

export type RankFile =
  | { kind: "model"; mp: number } // mp_rank_XX_model_states.pt (ZeRO 0-2, written by DP rank 0 of each mp rank)
  | { kind: "zero-model"; dp: number; mp: number } // zero_pp_rank_D_mp_rank_XX_model_states.pt (ZeRO-3: every rank)
  | { kind: "optim"; dp: number; mp: number; prefix: string } // {bf16_|fp16_}zero_pp_rank_D_mp_rank_XX[_]optim_states.pt
  | { kind: "layer"; layer: number; tp?: number } // layer_XX[-model_YY]-model_states.pt (PipelineModule)
  | { kind: "expert"; layer: number; expert: number; mp: number } // [layer_L_]expert_E_mp_rank_XX_model_states.pt (MoE)
  | { kind: "expert-optim"; ep: number; mp: number }; // expp_rank_R_mp_rank_XX_optim_states.pt (MoE without ZeRO)

const PATTERNS: { re: RegExp; make: (n: (number | undefined)[], m: RegExpExecArray) => RankFile }[] = [
  { re: /^mp_rank_(\d+)_model_states\.pt$/, make: ([mp]) => ({ kind: "model", mp: mp! }) },
  { re: /^zero_pp_rank_(\d+)_mp_rank_(\d+)_model_states\.pt$/, make: ([dp, mp]) => ({ kind: "zero-model", dp: dp!, mp: mp! }) },
  // The loaders also accept the legacy name without the underscore before `optim`.
  { re: /^(?:bf16_|fp16_)?zero_pp_rank_(\d+)_mp_rank_(\d+)_?optim_states\.pt$/, make: ([dp, mp], m) => ({ kind: "optim", dp: dp!, mp: mp!, prefix: /^(bf16_|fp16_)/.exec(m[0])?.[1] ?? "" }) },
  { re: /^layer_(\d+)(?:-model_(\d+))?-model_states\.pt$/, make: ([layer, tp]) => ({ kind: "layer", layer: layer!, ...(tp === undefined ? {} : { tp }) }) },
  { re: /^(?:layer_(\d+)_)?expert_(\d+)_mp_rank_(\d+)_model_states\.pt$/, make: ([layer, expert, mp]) => ({ kind: "expert", layer: layer ?? 0, expert: expert!, mp: mp! }) },
  { re: /^expp_rank_(\d+)_mp_rank_(\d+)_optim_states\.pt$/, make: ([ep, mp]) => ({ kind: "expert-optim", ep: ep!, mp: mp! }) },
];

export type Parsed = { file: RankFile } | { badNumber: string } | undefined;

/** A rank file's kind and numbers; `badNumber` when a number is beyond MAX_RANK; undefined for other names. */
export function parseRankFile(name: string): Parsed {
  for (const p of PATTERNS) {
    const m = p.re.exec(name);
    if (!m) continue;
    const digits = m.slice(1);
    const bad = digits.find((d) => d !== undefined && (d.length > 7 || Number(d) > MAX_RANK));
    if (bad !== undefined) return { badNumber: bad };
    return { file: p.make(digits.map((d) => (d === undefined ? undefined : Number(d))), m) };
  }
  return undefined;
}

export function isRankFileName(name: string): boolean {
  return parseRankFile(name) !== undefined;
}

/** `global_stepN` tags name the step DeepSpeed saved at (engine.save_checkpoint's default tag). */
export function tagStep(tag: string): number | undefined {
  const m = /^global_step(\d{1,15})$/.exec(tag);
  return m ? Number(m[1]) : undefined;
}
