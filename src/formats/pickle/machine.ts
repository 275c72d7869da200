/**
 * The unpickler's state and its bounds-checked primitives. Mirrors CPython's
 * C unpickler: one value stack, MARK positions on a separate stack, and a
 * "fence" (the innermost mark) that pops may not cross.
 */
import { FormatError } from "../../core/errors.js";
import { BadValue } from "./bytes.js";
import { opcodeName } from "./opcodes.js";
import { PickleError } from "./pickle-error.js";
import { FullMemo, ReferencedMemo, type Memo } from "./memo.js";
import { MEMO_REFS_MIN_BYTES, memoReferences } from "./memo-refs.js";
import { MAX_STACK } from "./types.js";
import type { BuildRecord, PickleLimits, PickleOptions, PicklePartial } from "./types.js";
import type { PyCall, PyGlobal, PyValue } from "./values.js";

export class Machine {
  pos: number;
  /** Offset of the opcode being executed: every error and record points here. */
  op: number;
  opcodes = 0;
  protocol: number | undefined = undefined;
  readonly view: DataView;
  readonly stack: PyValue[] = [];
  readonly marks: number[] = [];
  fence = 0;
  /** Large pickles keep only the values some GET reads back (memo.ts, memo-refs.ts). */
  readonly memo: Memo;
  readonly globals: PyGlobal[] = [];
  readonly calls: PyCall[] = [];
  readonly builds: BuildRecord[] = [];
  /** `module.attr` -> value, from BUILD on a global (see ops.build). */
  readonly attributes = new Map<string, PyValue>();
  /** A FRAME that ran past the end: reported when decoding stops, whatever stops it. */
  badFrame: PickleError | undefined = undefined;
  /** Items/bytes the built-in hook may still copy. */
  hookBudget: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly limits: PickleLimits,
    readonly options: PickleOptions,
  ) {
    this.pos = start;
    this.op = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.hookBudget = limits.maxContainerItems;
    const refs = bytes.length - start >= MEMO_REFS_MIN_BYTES ? memoReferences(bytes, start, limits.maxOpcodes) : undefined;
    this.memo = refs ? new ReferencedMemo(refs) : new FullMemo();
  }

  partial(): PicklePartial {
    return { globals: this.globals, calls: this.calls, builds: this.builds };
  }

  fail(code: string, message: string, data: Record<string, unknown> = {}): PickleError {
    return new PickleError(code, message, this.op, this.partial(), { opcode: this.opName(), ...data });
  }

  opName(): string {
    return this.op < this.bytes.length ? opcodeName(this.bytes[this.op]!) : "end of data";
  }

  limit(which: keyof PickleLimits | "stack" | "intBytes", value: number, what: string): PickleError {
    return this.fail("PICKLE_LIMIT", `${what} exceeds the ${which} limit of ${value}`, { limit: which, value });
  }

  /** Whatever escaped as something else becomes a PickleError here, with the offset of the opcode. */
  wrap(e: unknown): PickleError {
    if (this.badFrame) return this.badFrame;
    if (e instanceof PickleError) {
      if (e.partial.globals !== this.globals) e.partial = this.partial(); // thrown by a hook
      return e;
    }
    if (e instanceof BadValue) return this.fail("PICKLE_BAD_VALUE", `${this.opName()}: ${e.message}`);
    if (e instanceof FormatError) {
      const message = e.message.replace(/ \(at byte \d+\)$/, "");
      return new PickleError(e.code, message, e.offset ?? this.op, this.partial(), e.data);
    }
    const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return this.fail("PICKLE_INTERNAL", `unexpected failure in ${this.opName()}: ${detail}`);
  }

  // ---- bytes ---------------------------------------------------------------------------

  /** Checks that `n` argument bytes remain before anything is read or allocated; returns their start. */
  need(n: number): number {
    const p = this.pos;
    const have = this.bytes.length - p;
    if (n > have) {
      throw this.fail("PICKLE_TRUNCATED", `${this.opName()} wants ${n} bytes but only ${have} remain`, { wanted: n, had: have });
    }
    this.pos = p + n;
    return p;
  }

  /** A u64 length, as a float: exact below 2^53 and, above it, still larger than any buffer. */
  u64(): number {
    const p = this.need(8);
    return this.view.getUint32(p + 4, true) * 0x1_0000_0000 + this.view.getUint32(p, true);
  }

  /** Start of a `n`-byte payload whose length came from a u64 field (message keeps the exact value). */
  needLong(n: number): number {
    if (n > this.bytes.length - this.pos && n >= 2 ** 53) {
      const exact = this.view.getBigUint64(this.pos - 8, true);
      const have = this.bytes.length - this.pos;
      throw this.fail("PICKLE_TRUNCATED", `${this.opName()} wants ${exact} bytes but only ${have} remain`, {
        wanted: exact.toString(),
        had: have,
      });
    }
    return this.need(n);
  }

  /** A newline-terminated argument; returns [start, end) without the newline. */
  line(): [number, number] {
    const p = this.pos;
    const nl = this.bytes.indexOf(0x0a, p);
    if (nl < 0) {
      throw this.fail("PICKLE_TRUNCATED", `${this.opName()} argument has no terminating newline`, {
        had: this.bytes.length - p,
      });
    }
    this.pos = nl + 1;
    return [p, nl];
  }

  // ---- stack ---------------------------------------------------------------------------

  pop(): PyValue {
    if (this.stack.length <= this.fence) throw this.underflow();
    return this.stack.pop() as PyValue;
  }

  top(): PyValue {
    const n = this.stack.length;
    if (n <= this.fence) throw this.underflow();
    return this.stack[n - 1] as PyValue;
  }

  /** The top `n` values, removed, in stack order. */
  popN(n: number): PyValue[] {
    if (this.stack.length - n < this.fence) throw this.underflow();
    return this.takeFrom(this.stack.length - n);
  }

  /** The values from stack position `k` up, removed (a copy loop: splice costs more for the few items a tuple holds). */
  takeFrom(k: number): PyValue[] {
    const stack = this.stack;
    const n = stack.length - k;
    if (n > 64) return stack.splice(k);
    const out: PyValue[] = new Array(n);
    for (let i = n - 1; i >= 0; i--) out[i] = stack.pop()!;
    return out;
  }

  underflow(): PickleError {
    return this.fail("PICKLE_STACK_UNDERFLOW", `${this.opName()} needs more values than the stack holds${this.marks.length ? " above the last MARK" : ""}`);
  }

  pushMark(): void {
    if (this.marks.length >= this.limits.maxDepth) throw this.limit("maxDepth", this.limits.maxDepth, "MARK nesting");
    if (this.stack.length >= MAX_STACK) throw this.limit("stack", MAX_STACK, "stack size");
    this.marks.push(this.stack.length);
    this.fence = this.stack.length;
  }

  /** Pops the innermost MARK and returns its stack position. */
  popMark(): number {
    const k = this.marks.pop();
    if (k === undefined) throw this.fail("PICKLE_NO_MARK", `${this.opName()} found no MARK on the stack`);
    const n = this.marks.length;
    this.fence = n === 0 ? 0 : this.marks[n - 1]!;
    return k;
  }

  /** Everything above the innermost MARK, removed, with the MARK. */
  popToMark(): PyValue[] {
    return this.takeFrom(this.popMark());
  }

  checkItems(n: number, what: string): void {
    if (n > this.limits.maxContainerItems) throw this.limit("maxContainerItems", this.limits.maxContainerItems, `${what} of ${n} items`);
  }

  spend = (n: number): void => {
    this.hookBudget -= n;
    if (this.hookBudget < 0) {
      throw this.limit("maxContainerItems", this.limits.maxContainerItems, "items copied by set()/bytes()/OrderedDict() calls");
    }
  };

  // ---- memo ----------------------------------------------------------------------------

  memoGet(key: number): void {
    const v = this.memo.get(key);
    if (v === undefined) throw this.fail("PICKLE_BAD_MEMO", `${this.opName()} of memo key ${key}, which was never stored`, { key });
    this.stack.push(v);
  }

  memoPut(key: number): void {
    this.memo.put(key, this.top());
    if (this.memo.size > this.limits.maxMemo) throw this.limit("maxMemo", this.limits.maxMemo, "memo size");
  }
}
