import { PyCall, PyGlobal, type PyValue } from "../formats/pickle/values.js";
import { GETATTR, PARTIAL, classifyGlobal, normaliseModule } from "./classify.js";
import { StringScanner, describe, judgeCallee, qualnameOf, type CallJudgement } from "./calls.js";
import { TIER_RANK, worseTier, type GlobalTier, type GlobalVerdict, type SafetyOptions } from "./types.js";

/** Values walked looking for code-like strings, across one pickle. Far above any real checkpoint's call arguments. */
const SCAN_BUDGET = 2_000_000;

/** Globals whose own verdict is the worst of their calls' verdicts. */
const JUDGED_BY_CALLS = new Set([GETATTR, PARTIAL, "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__"]);

export interface PickleReferences {
  globals: PyGlobal[];
  calls: PyCall[];
  builds: { target: PyValue; state: PyValue; offset: number }[];
}

/**
 * Judges everything a decoded pickle referenced or called: one verdict per
 * distinct global (count = occurrences, offset = first), plus extra verdicts
 * from call analysis (getattr / partial / reconstructor calls that are not
 * harmless, calls on call results, code-like string arguments, BUILD on a
 * global). Sorted by offset.
 */
export function judgePickle(p: PickleReferences, options: SafetyOptions = {}): GlobalVerdict[] {
  const globals = new Map<string, GlobalVerdict>();
  for (const g of p.globals) {
    const qualname = qualnameOf(g);
    const seen = globals.get(qualname);
    if (seen) {
      seen.count++;
      seen.offset = Math.min(seen.offset, g.offset);
      continue;
    }
    const { tier, reason } = classifyGlobal(g.module, g.name, options);
    globals.set(qualname, { qualname, module: normaliseModule(g.module), name: g.name, tier, reason, offset: g.offset, count: 1 });
  }

  const extra = new Map<string, GlobalVerdict>();
  const add = (v: Omit<GlobalVerdict, "count">) => {
    const key = `${v.qualname}\u0000${v.reason}`;
    const seen = extra.get(key);
    if (seen) {
      seen.count++;
      seen.offset = Math.min(seen.offset, v.offset);
    } else extra.set(key, { ...v, count: 1 });
  };

  const byGlobal = new Map<string, CallJudgement[]>();
  const scanner = new StringScanner(SCAN_BUDGET);
  for (const call of p.calls) {
    const j = judgeCallee(call, options);
    if (j?.global !== undefined) {
      const list = byGlobal.get(j.global) ?? [];
      list.push(j);
      byGlobal.set(j.global, list);
    }
    if (j && j.tier !== "allowed" && j.tier !== "harmless" && !(j.global !== undefined && j.tier === "unknown" && !j.standalone)) {
      // An unknown class inside a reconstructor already has its own "unknown" verdict; everything else is new information.
      add({ qualname: j.qualname, module: j.module, name: j.name, tier: j.tier, reason: j.reason, offset: j.offset });
    }
    const code = scanner.scanCall(call);
    if (code) add({ ...calleeIdentity(call.callee), tier: "unsafe", reason: code, offset: call.offset });
  }

  for (const b of p.builds) {
    if (b.target instanceof PyGlobal) {
      add({
        qualname: qualnameOf(b.target),
        module: normaliseModule(b.target.module),
        name: b.target.name,
        tier: "unsafe",
        reason: "BUILD sets attributes on the global object itself (a module or class), the sys.modules override trick",
        offset: b.offset,
      });
    }
    const code = scanner.scan([b.state]);
    if (code) {
      const who = b.target instanceof PyCall ? calleeIdentity(b.target.callee) : { qualname: `BUILD on ${describe(b.target)}`, module: "", name: "" };
      add({ ...who, tier: "unsafe", reason: code, offset: b.offset });
    }
  }
  if (scanner.exhausted) {
    add({ qualname: "<call arguments>", module: "", name: "", tier: "unknown", reason: `stopped looking for code-like strings after ${SCAN_BUDGET} values`, offset: 0 });
  }

  for (const [qualname, verdict] of globals) {
    if (JUDGED_BY_CALLS.has(qualname)) Object.assign(verdict, judgedByCalls(verdict, byGlobal.get(qualname) ?? []));
  }
  // A call verdict about a global that already has one (a code-like argument to
  // it, a BUILD on it) is folded in: one verdict per name, at the worse tier.
  const separate: GlobalVerdict[] = [];
  for (const v of extra.values()) {
    const own = globals.get(v.qualname);
    if (!own) {
      separate.push(v);
      continue;
    }
    const escalates = TIER_RANK[v.tier] > TIER_RANK[own.tier];
    own.reason = escalates ? `${v.reason} (and: ${own.reason})` : `${own.reason}; ${v.reason}`;
    own.tier = worseTier(own.tier, v.tier);
  }
  return [...globals.values(), ...separate].sort((a, b) => a.offset - b.offset);
}

/** A getattr / partial / reconstructor global takes the worst verdict among its calls. */
function judgedByCalls(verdict: GlobalVerdict, calls: CallJudgement[]): { tier: GlobalTier; reason: string } {
  if (calls.length === 0) {
    // Referenced but never called here: it can only end up called by something else.
    return verdict.tier === "harmless" ? verdict : { tier: "unsafe", reason: `${verdict.qualname} is referenced but never called directly; ${verdict.reason}` };
  }
  const tier = calls.map((c) => c.tier).reduce(worseTier);
  const worst = calls.filter((c) => c.tier === tier);
  const examples = [...new Set(worst.map((c) => c.qualname))].slice(0, 3).join(", ");
  if (tier === "harmless" || tier === "allowed") return { tier: "harmless", reason: `every call is harmless, e.g. ${examples}` };
  if (tier === "unknown") {
    // Only reconstructors get here: the unknown class has its own warning, one is enough.
    return { tier: verdict.tier, reason: `instantiates classes that are judged on their own: ${examples}` };
  }
  return { tier, reason: `${worst.length} of ${calls.length} calls are ${tier}: ${examples}` };
}

function calleeIdentity(callee: PyValue): { qualname: string; module: string; name: string } {
  if (callee instanceof PyGlobal) return { qualname: qualnameOf(callee), module: normaliseModule(callee.module), name: callee.name };
  return { qualname: describe(callee), module: "", name: "" };
}

/** The most severe tier among the verdicts, or undefined when there are none. */
export function worstTier(verdicts: GlobalVerdict[]): GlobalTier | undefined {
  let worst: GlobalTier | undefined;
  for (const v of verdicts) if (worst === undefined || TIER_RANK[v.tier] > TIER_RANK[worst]) worst = v.tier;
  return worst;
}
