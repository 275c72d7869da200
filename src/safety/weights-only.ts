import type { DecodedPickle } from "../formats/pickle/decoder.js";
import { PyCall, PyGlobal } from "../formats/pickle/values.js";
import { ALLOWED_GLOBALS } from "./allowed.js";
import { normaliseModule } from "./classify.js";
import type { GlobalVerdict } from "./types.js";

/**
 * Would `torch.load(weights_only=True)` (torch's default since 2.6) load this
 * pickle, and if not, what would make it? Modelled on
 * torch/_weights_only_unpickler.py: a GLOBAL must be in the default allow-list
 * (ALLOWED_GLOBALS) or added with `torch.serialization.add_safe_globals`; a
 * module on its block list (sys, os, posix, nt) is refused even when added;
 * BUILD needs the *type of the instance* allowlisted, which for a numpy dtype
 * is a class the pickle never names (numpy.dtypes.UInt32DType on numpy >=
 * 1.25), hence `type(numpy.dtype("u4"))`, as transformers' own allow-list
 * writes it; and the unpickler implements only protocol-2/3 opcodes, so a
 * protocol 4 or 5 pickle (FRAME, MEMOIZE, STACK_GLOBAL) fails whatever is added.
 */
export interface WeightsOnlyVerdict {
  /** Python expressions for add_safe_globals, in first-use order ("numpy.ndarray", 'type(numpy.dtype("u4"))', "getattr"). */
  allow: string[];
  /** What no allow-list fixes, or must never be allowlisted. Empty when allowlisting `allow` is enough. */
  blockers: string[];
}

/** torch/_weights_only_unpickler.py `_blocklisted_modules`: refused even when allowlisted. */
const BLOCKED_MODULES = new Set(["sys", "os", "posix", "nt"]);

export function weightsOnlyVerdict(p: Pick<DecodedPickle, "globals" | "builds" | "protocol">, verdicts: GlobalVerdict[]): WeightsOnlyVerdict {
  const allow = new Set<string>();
  const blockers = new Set<string>();
  const tier = new Map(verdicts.map((v) => [v.qualname, v.tier]));
  if (p.protocol !== undefined && p.protocol >= 4) {
    blockers.add(`pickle protocol ${p.protocol}: its opcodes (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL) are not implemented by torch's weights_only unpickler`);
  }
  for (const g of p.globals) {
    const module = normaliseModule(g.module);
    const qualname = `${module}.${g.name}`;
    if (ALLOWED_GLOBALS.has(qualname)) continue;
    if (BLOCKED_MODULES.has(module.split(".")[0]!)) blockers.add(`${qualname}: torch blocks module ${module} even when allowlisted`);
    else if (tier.get(qualname) === "unsafe") blockers.add(`${qualname}: unsafe, never allowlist it (see training-state)`);
    else allow.add(pythonName(module, g.name));
  }
  for (const b of p.builds) {
    const code = dtypeCode(b.target);
    if (code !== undefined) allow.add(`type(numpy.dtype(${JSON.stringify(code)}))`);
  }
  return { allow: [...allow], blockers: [...blockers] };
}

/** The line that allowlists `names`, to paste before the resume's torch.load. */
export function addSafeGlobalsLine(names: string[]): string {
  return `torch.serialization.add_safe_globals([${names.join(", ")}])`;
}

/** As torch's own error message names it: builtins without their module, everything else by its dotted path. */
function pythonName(module: string, name: string): string {
  return module === "builtins" ? name : `${module}.${name}`;
}

/** numpy.dtype('u4', False, True) followed by BUILD: the dtype code, else undefined. */
function dtypeCode(target: unknown): string | undefined {
  if (!(target instanceof PyCall) || !(target.callee instanceof PyGlobal)) return undefined;
  if (`${target.callee.module}.${target.callee.name}` !== "numpy.dtype") return undefined;
  const code = target.args[0];
  return typeof code === "string" && /^[\w<>|=]{1,16}$/.test(code) ? code : undefined;
}
