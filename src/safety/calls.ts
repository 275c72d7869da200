import { PyBytes, PyCall, PyDict, PyGlobal, PyList, PySet, PyTuple, pyTypeName, type PyValue } from "../formats/pickle/values.js";
import { GETATTR, PARTIAL, classifyGlobal, classifyUnlisted, normaliseModule } from "./classify.js";
import { codeLikeReason, pyRepr } from "./codeStrings.js";
import { harmlessEntry } from "./harmless.js";
import { isTrustedTier, type GlobalTier, type HarmlessUse, type SafetyOptions } from "./types.js";

/**
 * Call analysis: the verdicts that depend on what a call is given rather than
 * on the callee's name alone.
 */

/** One judged call. `global` is the callee's qualname when the callee is a global. */
export interface CallJudgement {
  global: string | undefined;
  module: string;
  name: string;
  qualname: string;
  tier: GlobalTier;
  reason: string;
  offset: number;
  /** An unknown verdict no other verdict carries, so it is reported even though `global` is set. */
  standalone?: boolean;
}

const RECONSTRUCTORS = new Set(["copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__"]);
/** The names of GETATTR, PARTIAL and the RECONSTRUCTORS: any other callee name needs no call analysis. */
const ANALYSED_NAMES = new Set(["getattr", "partial", "_reconstructor", "__newobj__", "__newobj_ex__"]);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function qualnameOf(g: PyGlobal): string {
  return `${normaliseModule(g.module)}.${g.name}`;
}

/** Judges the callee side of one call. Returns undefined when the callee's own global verdict says it all. */
export function judgeCallee(call: PyCall, options: SafetyOptions): CallJudgement | undefined {
  const callee = call.callee;
  if (callee instanceof PyGlobal) {
    if (ANALYSED_NAMES.has(callee.name)) {
      const q = qualnameOf(callee);
      const base = { global: q, module: normaliseModule(callee.module), name: callee.name, offset: call.offset };
      if (q === GETATTR) return { ...base, ...judgeGetattr(call, options) };
      if (q === PARTIAL) return { ...base, ...judgePartial(call, options) };
      if (RECONSTRUCTORS.has(q)) return { ...base, ...judgeReconstructor(q, call, options) };
    }
    // A class or function: its global verdict says it all, unless its harmless entry does not cover this use.
    const misuse = restrictedUse(callee, runsInit(call) ? "call" : "rebuild", options);
    return misuse && { global: undefined, module: normaliseModule(callee.module), name: callee.name, qualname: qualnameOf(callee), ...misuse, offset: call.offset };
  }
  if (callee instanceof PyCall) {
    // getattr(Cls, "name")(...): judge the method being called as the global Cls.name.
    const inner = getattrTarget(callee);
    if (inner) {
      const { tier, reason } = classifyGlobal(inner.owner.module, `${inner.owner.name}.${inner.attr}`, options);
      const qualname = `${qualnameOf(inner.owner)}.${inner.attr}`;
      if (isTrustedTier(tier)) return undefined;
      return { global: undefined, module: normaliseModule(inner.owner.module), name: `${inner.owner.name}.${inner.attr}`, qualname, tier, reason: `called through getattr: ${reason}`, offset: call.offset };
    }
    return {
      global: undefined,
      module: "",
      name: "",
      qualname: `${describe(callee)}(...)`,
      tier: "unsafe",
      reason: "calls the object another call returned; only plain globals may be called",
      offset: call.offset,
    };
  }
  return undefined;
}

function getattrTarget(call: PyCall): { owner: PyGlobal; attr: string } | undefined {
  if (!(call.callee instanceof PyGlobal) || qualnameOf(call.callee) !== GETATTR) return undefined;
  const [owner, attr] = call.args;
  return owner instanceof PyGlobal && typeof attr === "string" ? { owner, attr } : undefined;
}

/** Python 3.11+ pickles enum members as getattr(EnumClass, "NAME"): fine on a trusted class with a plain name. */
function judgeGetattr(call: PyCall, options: SafetyOptions): { qualname: string; tier: GlobalTier; reason: string } {
  const [target, attr] = call.args;
  const qualname = `${GETATTR}(${describe(target)}, ${describe(attr)})`;
  if (call.args.length < 2 || call.args.length > 3) return { qualname, tier: "unsafe", reason: `getattr called with ${call.args.length} arguments` };
  if (typeof attr !== "string" || !IDENTIFIER.test(attr) || /^__.*__$/.test(attr)) {
    return { qualname, tier: "unsafe", reason: `getattr with ${typeof attr === "string" ? "the non-plain name" : "a non-string name"} ${describe(attr)}` };
  }
  const instanceOf = target instanceof PyCall ? constructedClass(target) : undefined;
  if (instanceOf) {
    const cls = classifyGlobal(instanceOf.module, instanceOf.name, options);
    // Looking up a method on an instance binds it; nothing runs unless the result is called, which is judged on its own.
    if (isTrustedTier(cls.tier)) return { qualname, tier: "harmless", reason: `looks up ${attr} on an instance of ${qualnameOf(instanceOf)} (${cls.tier})` };
  }
  if (!(target instanceof PyGlobal)) {
    return { qualname, tier: "unsafe", reason: `getattr on ${target instanceof PyCall ? "the result of another call" : `a ${pyTypeName(target)} value`}, not on a known class` };
  }
  const owner = classifyGlobal(target.module, target.name, options);
  if (isTrustedTier(owner.tier)) return { qualname, tier: "harmless", reason: `looks up ${attr} on ${qualnameOf(target)} (${owner.tier})` };
  return {
    qualname,
    tier: "unsafe",
    reason: `getattr on ${qualnameOf(target)}, which is ${owner.tier === "unsafe" ? "unsafe" : "not a known class (--allow-global it if it is your own enum)"}: ${owner.reason}`,
  };
}

/** The class an instance-building call constructs: Cls(...) via NEWOBJ, or copyreg._reconstructor(Cls, object, state). */
function constructedClass(call: PyCall): PyGlobal | undefined {
  if (!(call.callee instanceof PyGlobal)) return undefined;
  const q = qualnameOf(call.callee);
  if (RECONSTRUCTORS.has(q)) return call.args[0] instanceof PyGlobal ? call.args[0] : undefined;
  return call.kind === "newobj" || call.kind === "newobj_ex" ? call.callee : undefined;
}

/** functools.partial(f, ...): as safe as f. Pickled partials also carry f in their BUILD state. */
function judgePartial(call: PyCall, options: SafetyOptions): { qualname: string; tier: GlobalTier; reason: string } {
  const fromState = call.state instanceof PyTuple ? call.state.items[0] : undefined;
  const funcs = [call.args[0], ...(fromState === undefined ? [] : [fromState])];
  const qualname = `${PARTIAL}(${describe(call.args[0])}, ...)`;
  for (const f of funcs) {
    const tier = f instanceof PyGlobal ? classifyGlobal(f.module, f.name, options).tier : "unsafe";
    if (!isTrustedTier(tier)) return { qualname, tier: "unsafe", reason: `partial around ${describe(f)}, which is not an allowed or harmless function` };
  }
  return { qualname, tier: "harmless", reason: `partial around ${funcs.map(describe).join(", ")}` };
}

/**
 * Whether a call runs the callee's `__init__` with the file's arguments:
 * REDUCE does (cls(*args)), NEWOBJ only calls cls.__new__, and INST/OBJ
 * construct through __init__ only when given arguments.
 */
function runsInit(call: PyCall): boolean {
  if (call.kind === "reduce") return true;
  if (call.kind === "inst" || call.kind === "obj") return call.args.length > 0;
  return false;
}

/**
 * harmlessEntry per global object: a torch pickle memoizes its rebuild
 * function once and calls it for every tensor, so this is looked up once.
 */
const ENTRIES = new WeakMap<PyGlobal, ReturnType<typeof harmlessEntry> | null>();

function entryOf(g: PyGlobal): ReturnType<typeof harmlessEntry> {
  let e = ENTRIES.get(g);
  if (e === undefined) ENTRIES.set(g, (e = harmlessEntry(qualnameOf(g)) ?? null));
  return e ?? undefined;
}

const USE_COVERS: Record<HarmlessUse, readonly ("call" | "rebuild")[]> = { any: ["call", "rebuild"], rebuild: ["rebuild"], reference: [] };

/**
 * The verdict of using a known-harmless global in a way its entry does not
 * cover (HarmlessUse): judged as if it were not listed. Undefined when the
 * use is covered, or the global is not on the harmless list.
 */
function restrictedUse(g: PyGlobal, path: "call" | "rebuild", options: SafetyOptions): { tier: GlobalTier; reason: string } | undefined {
  const entry = entryOf(g);
  if (entry === undefined || USE_COVERS[entry.use].includes(path)) return undefined;
  const unlisted = classifyUnlisted(g.module, g.name, options);
  if (isTrustedTier(unlisted.tier)) return undefined; // --allow-global
  const known = entry.use === "rebuild" ? "known harmless only when rebuilt without __init__" : "known harmless only as a stored value";
  const how = path === "call" ? "called with arguments the file chooses" : "instantiated";
  return { tier: unlisted.tier, reason: `${how}, while it is ${known}: ${unlisted.reason}` };
}

/**
 * copyreg._reconstructor(cls, base, state) / __newobj__(cls, ...): as safe as
 * the classes it instantiates. cls is rebuilt without __init__; a base other
 * than object is called, base.__init__(obj, state).
 */
function judgeReconstructor(q: string, call: PyCall, options: SafetyOptions): { qualname: string; tier: GlobalTier; reason: string; standalone?: boolean } {
  const classes = q === "copyreg._reconstructor" ? call.args.slice(0, 2) : call.args.slice(0, 1);
  const qualname = `${q}(${classes.map(describe).join(", ")}${call.args.length > classes.length ? ", ..." : ""})`;
  let tier: GlobalTier = "harmless";
  let standalone = false;
  const reasons: string[] = [];
  for (const [i, cls] of classes.entries()) {
    if (!(cls instanceof PyGlobal)) return { qualname, tier: "unsafe", reason: `instantiates ${describe(cls)}, which is not a class global` };
    const path = i === 1 && qualnameOf(cls) !== "builtins.object" ? "call" : "rebuild";
    const misuse = restrictedUse(cls, path, options);
    const v = misuse ?? classifyGlobal(cls.module, cls.name, options);
    if (isTrustedTier(v.tier)) continue;
    tier = v.tier === "unsafe" ? "unsafe" : tier === "unsafe" ? tier : "unknown";
    // A misused harmless class has no warning of its own to carry the verdict: this call's is reported.
    standalone ||= misuse !== undefined;
    reasons.push(misuse ? `${qualnameOf(cls)} is ${v.tier} here (${v.reason})` : `${qualnameOf(cls)} is ${v.tier}`);
  }
  const reason = reasons.length ? `instantiates a class that ${reasons.join("; ")}` : `instantiates ${classes.map(describe).join(" / ")}`;
  return { qualname, tier, reason, ...(standalone ? { standalone } : {}) };
}

/** A short rendering of a value for verdicts: globals by name, strings as Python reprs. */
export function describe(v: PyValue | undefined): string {
  if (v === undefined) return "<missing>";
  if (v instanceof PyGlobal) return qualnameOf(v);
  if (v instanceof PyCall) return `${describe(v.callee)}(...)`;
  if (typeof v === "string") return pyRepr(v, 40);
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v === null) return "None";
  return `<${pyTypeName(v)}>`;
}

/**
 * Walks argument values iteratively (never recursively: pickles can nest
 * deeply) looking for code-like strings. `visited` and `budget` are shared
 * across the whole pickle, so memo-shared structures are walked once and a
 * hostile pickle cannot make the walk quadratic.
 */
export class StringScanner {
  private readonly visited = new Set<object>();
  private readonly seenStrings = new Map<string, string | undefined>();
  exhausted = false;

  constructor(private budget: number) {}

  /** The first code-like string among a call's arguments, keyword arguments and state. */
  scanCall(call: PyCall): string | undefined {
    // Marked first so an enclosing call does not report the same string again.
    this.visited.add(call);
    const stack: PyValue[] = [];
    for (const arg of call.args) stack.push(arg);
    if (call.kwargs !== undefined) stack.push(call.kwargs);
    if (call.state !== undefined) stack.push(call.state);
    return this.walk(stack);
  }

  /** The first code-like string's reason among `roots`, or undefined. */
  scan(roots: PyValue[]): string | undefined {
    return this.walk([...roots]);
  }

  private walk(stack: PyValue[]): string | undefined {
    while (stack.length > 0) {
      if (this.budget-- <= 0) {
        this.exhausted = true;
        return undefined;
      }
      const v = stack.pop()!;
      if (typeof v === "string") {
        const reason = this.checkString(v);
        if (reason) return reason;
        continue;
      }
      if (v === null || typeof v !== "object") continue;
      // Only values that hold other values or bytes are walked (and remembered): a tensor, a
      // storage, a global or a float has nothing from the file to look into.
      const container = v instanceof PyList || v instanceof PyTuple || v instanceof PySet;
      if (!container && !(v instanceof PyDict) && !(v instanceof PyCall) && !(v instanceof PyBytes)) continue;
      if (this.visited.has(v)) continue;
      this.visited.add(v);
      // Loops rather than push(...items): spreading a 200k-item list overflows the call stack.
      if (container) for (const item of v.items) stack.push(item);
      else if (v instanceof PyDict) for (const [k, val] of v.map) stack.push(k, val);
      else if (v instanceof PyCall) {
        for (const arg of v.args) stack.push(arg);
        if (v.kwargs !== undefined) stack.push(v.kwargs);
        if (v.state !== undefined) stack.push(v.state);
      } else if (v.bytes.length <= 65536) {
        const reason = this.checkString(Buffer.from(v.bytes).toString("latin1"));
        if (reason) return reason;
      }
    }
    return undefined;
  }

  private checkString(s: string): string | undefined {
    if (this.seenStrings.has(s)) return this.seenStrings.get(s);
    const reason = codeLikeReason(s);
    this.seenStrings.set(s, reason);
    return reason;
  }
}
