import { ALLOWED_GLOBALS, ALLOWED_REASON } from "./allowed.js";
import { deniedNamespace, denyReason } from "./default-deny.js";
import { harmlessEntry } from "./harmless.js";
import { UNSAFE_NAME_PATTERNS, matchUnsafePrefix } from "./unsafe.js";
import { isTrustedTier, type GlobalTier, type SafetyOptions } from "./types.js";

/**
 * Module aliases that name the same module. Protocol 2 writes the Python 2
 * names; the decoder already maps them, this is a second line in case a
 * caller did not. `__builtins__` is not importable, but fickling lists it
 * and treating it as builtins can only make a verdict stricter.
 */
const MODULE_ALIASES: Record<string, string> = {
  __builtin__: "builtins",
  __builtins__: "builtins",
  exceptions: "builtins",
  copy_reg: "copyreg",
};

export function normaliseModule(module: string): string {
  return Object.hasOwn(MODULE_ALIASES, module) ? MODULE_ALIASES[module]! : module;
}

/** Globals whose verdict depends on how each call uses them (see calls.ts). */
export const GETATTR = "builtins.getattr";
export const PARTIAL = "functools.partial";

const DUNDER = /^__.+__$/;

/** Modules whose bare module object, reached as an attribute, is a gadget on its own. */
const MODULE_OBJECTS = new Set(["os", "posix", "nt", "sys", "subprocess", "socket", "shutil", "pty", "runpy", "importlib", "ctypes", "pickle", "_pickle", "marshal"]);

/** The pseudo-module of a STACK_GLOBAL whose operands are computed while loading (formats/pickle/ops.ts). */
const DYNAMIC = "__dynamic__";

/** Real names are a module and a class or function a few levels deep; far longer ones only cost time to judge. */
const MAX_NAME_PARTS = 32;
const MAX_NAME_CHARS = 1024;

type Verdict = { tier: GlobalTier; reason: string };

/**
 * The tier of one `module.name` taken on its own. judgePickle refines the
 * globals whose safety depends on their arguments (getattr, functools.partial,
 * copyreg's constructors) and on how they are used (HarmlessUse) call by call.
 */
export function classifyGlobal(module: string, name: string, options: SafetyOptions = {}): Verdict {
  const mod = normaliseModule(module);
  const qualname = `${mod}.${name}`;
  if (ALLOWED_GLOBALS.has(qualname)) return { tier: "allowed", reason: ALLOWED_REASON };
  const harmless = harmlessEntry(qualname);
  if (harmless !== undefined) return { tier: "harmless", reason: harmless.reason };
  return classifyUnlisted(mod, name, options);
}

/**
 * The verdict of a name that is on neither the allowed nor the harmless list,
 * or that is used in a way its harmless entry does not cover (a rebuild-only
 * class called with arguments). In order: the unsafe list and the rules on
 * names (never lifted), `--allow-global`, the default deny of the standard
 * library and torch, and otherwise unknown.
 */
export function classifyUnlisted(module: string, name: string, options: SafetyOptions = {}): Verdict {
  const mod = normaliseModule(module);
  const qualname = `${mod}.${name}`;
  if (qualname === GETATTR) {
    return { tier: "unsafe", reason: "getattr reaches any attribute of any object; only getattr(known class, 'NAME') calls are accepted" };
  }
  if (qualname === PARTIAL) {
    return { tier: "unsafe", reason: "functools.partial can wrap any callable; accepted only around allowed or harmless functions" };
  }
  if (mod === DYNAMIC) {
    return { tier: "unsafe", reason: "the module or name is computed while loading (STACK_GLOBAL on values other than literal strings), so it can name any global" };
  }
  const absurd = absurdName(qualname);
  if (absurd !== undefined) return { tier: "unsafe", reason: `${absurd}; real pickles name a class or function a few levels deep` };
  const unsafe = unsafeReason(mod, name);
  if (unsafe !== undefined) return { tier: "unsafe", reason: unsafe };

  // A dotted name is an attribute path (pickle protocol 4's STACK_GLOBAL). A path
  // below a trusted class reaches its methods (pathlib.Path.unlink, ...), which
  // weights_only refuses and which nobody pickles by accident.
  const nameParts = name.split(".");
  if (nameParts.length > 1) {
    const owner = classifyGlobal(mod, nameParts[0]!, options);
    if (isTrustedTier(owner.tier)) {
      return { tier: "unsafe", reason: `an attribute of ${mod}.${nameParts[0]} reached through a dotted name; methods of trusted classes are not trusted` };
    }
  }

  // The user's word lifts the default deny (what we do not know), never the unsafe list (what we know is dangerous).
  if (isAllowedByUser(mod, name, options)) return { tier: "harmless", reason: "allowed with --allow-global" };
  const denied = defaultDeny(mod, name, options);
  if (denied !== undefined) return { tier: "unsafe", reason: denied };
  return { tier: "unknown", reason: `not on the allow-list or the known-harmless list; loading it imports ${mod} (use --allow-global ${qualname} if you trust it)` };
}

/** Why a name is too long to be real, counted without splitting it (a STACK_GLOBAL name can be megabytes). */
function absurdName(qualname: string): string | undefined {
  if (qualname.length > MAX_NAME_CHARS) return `a name of ${qualname.length} characters`;
  let parts = 1;
  for (let i = qualname.indexOf("."); i >= 0; i = qualname.indexOf(".", i + 1)) parts++;
  return parts > MAX_NAME_PARTS ? `an attribute path of ${parts} components` : undefined;
}

/** The standard library and torch are default-deny, also when an attribute path walks into them from another module. */
function defaultDeny(mod: string, name: string, options: SafetyOptions): string | undefined {
  const ns = deniedNamespace(mod);
  if (ns !== undefined) return denyReason(ns, `${mod}.${name}`);
  // mylib + "logging.FileHandler": the path reaches a module mylib imported. A
  // last component alone is an attribute, not a module to walk into.
  const nameParts = name.split(".");
  for (let j = 0; j < nameParts.length - 1; j++) {
    if (deniedNamespace(nameParts[j]!) === undefined) continue;
    const inner = classifyGlobal(nameParts[j]!, nameParts.slice(j + 1).join("."), options);
    return isTrustedTier(inner.tier) ? undefined : `reaches ${nameParts[j]} through the attribute path ${name}: ${inner.reason}`;
  }
  return undefined;
}

function unsafeReason(mod: string, name: string): string | undefined {
  const parts = [...mod.split("."), ...name.split(".")];
  const direct = matchUnsafePrefix(parts);
  if (direct) return `${direct.prefix}: ${direct.reason}`;
  const qualname = `${mod}.${name}`;
  const named = UNSAFE_NAME_PATTERNS.find((p) => p.pattern.test(qualname));
  if (named) return `${named.label}: ${named.reason}`;
  // An attribute path can walk from any module into a dangerous one
  // (torch + "os.system", numpy + "testing.runstring"): check every suffix
  // that starts inside the name.
  const nameParts = name.split(".");
  const modCount = parts.length - nameParts.length;
  for (let j = modCount; j < parts.length; j++) {
    const hit = matchUnsafePrefix(parts.slice(j));
    // A last component alone only counts when it is a module the sys.modules-override
    // trick goes after (torch._utils + "sys"); "trace" or "profile" are common function names.
    if (hit && (j < parts.length - 1 || MODULE_OBJECTS.has(hit.prefix))) {
      return `reaches ${hit.prefix} through the attribute path ${name}: ${hit.reason}`;
    }
  }
  const dunder = nameParts.find((p) => DUNDER.test(p));
  if (dunder !== undefined) return `the attribute ${dunder} reaches interpreter internals`;
  return undefined;
}
function isAllowedByUser(mod: string, name: string, options: SafetyOptions): boolean {
  if (!options.allowGlobals?.length) return false;
  const qualname = `${mod}.${name}`;
  return options.allowGlobals.some((g) => {
    const dot = g.indexOf(".");
    // Normalise the user's module alias too, so `--allow-global __builtin__.x` works.
    const normalised = dot < 0 ? g : `${normaliseModule(g.slice(0, dot))}${g.slice(dot)}`;
    return normalised === qualname;
  });
}
