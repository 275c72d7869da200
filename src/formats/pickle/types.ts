import type { Memo } from "./memo.js";
import type { PyCall, PyGlobal, PyValue } from "./values.js";

export interface PickleLimits {
  maxOpcodes: number;
  maxMemo: number;
  /** Open MARKs at once. Value nesting is not bounded (memo references can even make cycles), so walk values iteratively. */
  maxDepth: number;
  /** Items in one container, and items/bytes copied by the built-in reduce hook over the whole decode. */
  maxContainerItems: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = Object.freeze({
  maxOpcodes: 50_000_000,
  maxMemo: 10_000_000,
  maxDepth: 10_000,
  maxContainerItems: 100_000_000,
});

/** The raw stack is capped independently of maxDepth: every opcode pushes at most one value, so this bounds memory too. */
export const MAX_STACK = 10_000_000;

export interface BuildRecord {
  target: PyValue;
  state: PyValue;
  offset: number;
}

export interface PicklePartial {
  globals: PyGlobal[];
  calls: PyCall[];
  builds: BuildRecord[];
}

export interface DecodedPickle {
  /** What STOP returned. */
  value: PyValue;
  /** From the first PROTO opcode; undefined if there is none. */
  protocol: number | undefined;
  /** Byte offsets into the input array (every offset in the result and in errors is one too). */
  start: number;
  /** Just past STOP. */
  end: number;
  opcodes: number;
  /** Every global named, in order (a memoized global once). */
  globals: PyGlobal[];
  /** Every call, except those a hook turned into data whose arguments hold nothing to judge (see PickleOptions.rebuild). */
  calls: PyCall[];
  builds: BuildRecord[];
}

/**
 * May turn `callee(*args)` into a concrete inert value. Return undefined to keep the PyCall.
 * `args` is shared with the recorded PyCall: read it, do not mutate it.
 */
export type ReduceHook = (callee: PyValue, args: PyValue[], offset: number) => PyValue | undefined;

/** What a sequence hook may read and change of the unpickler (machine.ts implements it). */
export interface MachineState {
  readonly bytes: Uint8Array;
  /** The next opcode's offset. */
  pos: number;
  /** The offset of the opcode being executed (errors and records point here). */
  op: number;
  opcodes: number;
  readonly limits: PickleLimits;
  readonly stack: PyValue[];
  readonly marks: number[];
  readonly memo: Memo;
}

/**
 * A reader's fast path for an opcode sequence it knows well (torch's tensor rebuild), offered right
 * after a BINGET / LONG_BINGET pushed a global it `starts` with. `run` either leaves the machine
 * exactly as executing the sequence's opcodes one by one would (stack, memo, counts, records,
 * positions) and returns true, or changes nothing and returns false; then the opcodes run as usual.
 */
export interface SequenceHook {
  starts(v: PyGlobal): boolean;
  run(m: MachineState): boolean;
}

export interface PickleOptions {
  limits?: Partial<PickleLimits>;
  persistentLoad?: (pid: PyValue, offset: number) => PyValue;
  /**
   * The reader's own hook for the calls it knows how to rebuild (torch's tensors), consulted after
   * the built-in one. Like the built-in one's, a call it turns into data is left out of `calls`
   * when its arguments hold nothing to judge (see ops.call): it must not take calls a judge reads
   * by their arguments (getattr, partial, copyreg's reconstructors).
   */
  rebuild?: ReduceHook;
  /** Any other hook, consulted last; every call reaches `calls`. */
  reduce?: ReduceHook;
  sequence?: SequenceHook;
}
