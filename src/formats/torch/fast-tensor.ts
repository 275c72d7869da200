import { utf8 } from "../pickle/bytes.js";
import { MAX_STACK, type MachineState, type SequenceHook } from "../pickle/types.js";
import { EMPTY_TUPLE, PyDict, PyGlobal, PyTuple, type PyValue } from "../pickle/values.js";
import type { TorchRebuilder } from "./rebuild.js";

/**
 * torch's tensor rebuild, read straight from its opcodes. torch pickles every
 * tensor as the same ~31 opcodes (protocol 2, after the first tensor):
 *
 *   BINGET rebuild MARK MARK BINGET 'storage' BINGET <Storage class> BINUNICODE key PUT
 *   BINGET 'cpu' <numel> TUPLE PUT BINPERSID <offset> <size tuple> PUT <stride tuple> PUT
 *   NEWFALSE BINGET OrderedDict EMPTY_TUPLE REDUCE PUT TUPLE PUT REDUCE
 *
 * which the interpreter runs as ten intermediate values (a persistent-id
 * tuple, size and stride tuples, an OrderedDict, an argument tuple) built to
 * be thrown away: at 210,000 tensors, most of a checkpoint's decode time and
 * garbage. After the BINGET of `_rebuild_tensor_v2` this reads the rest of the
 * sequence without changing anything; only when all of it matches, and none of
 * the interpreter's limits or errors could trigger inside it, does it apply
 * what the opcodes would have done: the same memo keys (their values made only
 * if the memo keeps them), the same storage and tensor from the rebuilder (same
 * problems, same offsets), the same opcode count, nothing recorded (every call
 * in it is turned into data and has inert arguments). Anything else (the first
 * tensor, whose globals are GLOBAL opcodes; protocol 4's MEMOIZE; a view; a
 * hostile variation) runs opcode by opcode as before.
 */
const REBUILD = "torch._utils._rebuild_tensor_v2";

const enum Op {
  MARK = 0x28, TUPLE = 0x74, BINPERSID = 0x51, EMPTY_TUPLE = 0x29, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87,
  NEWTRUE = 0x88, NEWFALSE = 0x89, REDUCE = 0x52, BINGET = 0x68, LONG_BINGET = 0x6a, BINPUT = 0x71, LONG_BINPUT = 0x72,
  BININT1 = 0x4b, BININT2 = 0x4d, BININT = 0x4a, BINUNICODE = 0x58, SHORT_BINUNICODE = 0x8c,
}

/** Which value a PUT in the sequence memoizes. */
const enum Put { Key, Pid, Size, Stride, Hooks, Args }

/** Bytes or values the sequence did not have: nothing has changed, the opcodes run as usual. */
const NO = -1;
/** Tensors of more dimensions run opcode by opcode. */
const MAX_RANK = 32;

export class TensorSequence implements SequenceHook {
  /** Sequences read in one step (tests check that the fast path is taken at all). */
  hits = 0;
  private p = 0;
  private ops = 0;
  /** The sequence's PUTs, in order (at most six): the key and which value it memoizes. */
  private puts = 0;
  private readonly putKeys = new Float64Array(8);
  private readonly putWhat = new Uint8Array(8);
  /** Scratch for the size and stride tuples' ints (copied only when kept). */
  private readonly sizeScratch: number[] = new Array<number>(MAX_RANK).fill(0);
  private readonly strideScratch: number[] = new Array<number>(MAX_RANK).fill(0);

  constructor(
    private readonly rb: TorchRebuilder,
    /** Off in tests that compare both ways. */
    private readonly enabled = true,
  ) {}

  starts(v: PyGlobal): boolean {
    return this.enabled && v.qualname === REBUILD;
  }

  run(m: MachineState): boolean {
    const b = m.bytes;
    this.p = m.pos;
    this.ops = 0;
    this.puts = 0;
    // Read: nothing below changes the machine.
    if (!this.op(b, Op.MARK) || !this.op(b, Op.MARK)) return false;
    const storageWord = this.get(m);
    const type = this.get(m);
    if (storageWord !== "storage" || type === undefined || !this.rb.isStorageClass(type)) return false;
    const key = this.string(b);
    if (key === undefined || !this.put(b, Put.Key)) return false;
    const location = this.get(m);
    const numel = this.uint(b);
    if (typeof location !== "string" || numel === NO || !this.op(b, Op.TUPLE) || !this.put(b, Put.Pid)) return false;
    const persidAt = this.p;
    if (!this.op(b, Op.BINPERSID)) return false;
    const storageOffset = this.uint(b);
    const rank = this.ints(b, m, this.sizeScratch);
    if (storageOffset === NO || rank === NO || !this.put(b, Put.Size)) return false;
    const strideRank = this.ints(b, m, this.strideScratch);
    if (strideRank !== rank || !this.put(b, Put.Stride)) return false;
    const size = this.sizeScratch;
    const stride = this.strideScratch;
    const grad = b[this.p];
    if ((grad !== Op.NEWTRUE && grad !== Op.NEWFALSE) || !this.op(b, grad)) return false;
    const hooks = this.get(m);
    if (!(hooks instanceof PyGlobal) || hooks.qualname !== "collections.OrderedDict") return false;
    if (!this.op(b, Op.EMPTY_TUPLE) || !this.op(b, Op.REDUCE) || !this.put(b, Put.Hooks) || !this.op(b, Op.TUPLE) || !this.put(b, Put.Args)) return false;
    const reduceAt = this.p;
    if (!this.op(b, Op.REDUCE)) return false;
    // What the interpreter would refuse or stop at inside the sequence.
    let count = 1;
    for (let k = 0; k < rank; k++) count *= size[k]!;
    if (!Number.isSafeInteger(count)) return false;
    const limits = m.limits;
    if (m.opcodes + this.ops > limits.maxOpcodes || m.marks.length + 3 > limits.maxDepth || m.stack.length + 16 > MAX_STACK) return false;
    if (m.memo.size + this.puts > limits.maxMemo || limits.maxContainerItems < Math.max(6, rank)) return false;

    // Apply, in the opcodes' order.
    const storage = this.rb.storageFromParts(type, key, location, numel, persidAt);
    const tensor = this.rb.tensorFromParts(storage, storageOffset, size, stride, rank, grad === Op.NEWTRUE, reduceAt);
    const requiresGrad = grad === Op.NEWTRUE;
    let sizeTuple: PyTuple | undefined;
    let strideTuple: PyTuple | undefined;
    let hooksDict: PyDict | undefined;
    for (let i = 0; i < this.puts; i++) {
      const k = this.putKeys[i]!;
      if (!m.memo.wants(k)) {
        m.memo.put(k, null); // counted, not kept: the value is never made
        continue;
      }
      let v: PyValue;
      switch (this.putWhat[i] as Put) {
        case Put.Key: v = key; break;
        case Put.Pid: v = new PyTuple([storageWord, type, key, location, numel]); break;
        case Put.Size: v = sizeTuple ??= tupleOf(size, rank); break;
        case Put.Stride: v = strideTuple ??= tupleOf(stride, rank); break;
        case Put.Hooks: v = hooksDict ??= new PyDict("OrderedDict"); break;
        default: v = new PyTuple([storage, storageOffset, (sizeTuple ??= tupleOf(size, rank)), (strideTuple ??= tupleOf(stride, rank)), requiresGrad, (hooksDict ??= new PyDict("OrderedDict"))]);
      }
      m.memo.put(k, v);
    }
    m.stack[m.stack.length - 1] = tensor; // the rebuild global the BINGET pushed, called
    this.hits++;
    m.opcodes += this.ops;
    m.op = reduceAt;
    m.pos = this.p;
    return true;
  }

  /** Consumes opcode `code` if it is next. */
  private op(b: Uint8Array, code: number): boolean {
    if (b[this.p] !== code) return false;
    this.p++;
    this.ops++;
    return true;
  }

  /** BINGET / LONG_BINGET of a value stored before the sequence (not by a PUT inside it): the value, or undefined. */
  private get(m: MachineState): PyValue | undefined {
    const b = m.bytes;
    const code = b[this.p];
    let key: number;
    if (code === Op.BINGET && this.p + 1 < b.length) key = b[this.p + 1]!;
    else if (code === Op.LONG_BINGET && this.p + 4 < b.length) key = u32(b, this.p + 1);
    else return undefined;
    for (let i = 0; i < this.puts; i++) if (this.putKeys[i] === key) return undefined;
    const v = m.memo.get(key);
    if (v === undefined) return undefined;
    this.p += code === Op.BINGET ? 2 : 5;
    this.ops++;
    return v;
  }

  /** An optional BINPUT / LONG_BINPUT; false only when its argument runs past the end. */
  private put(b: Uint8Array, what: Put): boolean {
    const code = b[this.p];
    if (code !== Op.BINPUT && code !== Op.LONG_BINPUT) return true;
    const n = code === Op.BINPUT ? 1 : 4;
    if (this.p + n >= b.length || this.puts === this.putKeys.length) return false;
    this.putKeys[this.puts] = n === 1 ? b[this.p + 1]! : u32(b, this.p + 1);
    this.putWhat[this.puts++] = what;
    this.p += 1 + n;
    this.ops++;
    return true;
  }

  /** BININT1 / BININT2 / BININT of a non-negative value, or NO. */
  private uint(b: Uint8Array): number {
    const p = this.p;
    const code = b[p];
    const n = code === Op.BININT1 ? 1 : code === Op.BININT2 ? 2 : code === Op.BININT ? 4 : 0;
    if (n === 0 || p + n >= b.length) return NO;
    const v = n === 1 ? b[p + 1]! : n === 2 ? b[p + 1]! | (b[p + 2]! << 8) : b[p + 1]! | (b[p + 2]! << 8) | (b[p + 3]! << 16) | (b[p + 4]! << 24);
    if (v < 0) return NO;
    this.p += 1 + n;
    this.ops++;
    return v;
  }

  /** A storage key: BINUNICODE / SHORT_BINUNICODE, decoded as the interpreter decodes it. */
  private string(b: Uint8Array): string | undefined {
    const p = this.p;
    const short = b[p] === Op.SHORT_BINUNICODE;
    if (!short && b[p] !== Op.BINUNICODE) return undefined;
    const head = short ? 2 : 5;
    if (p + head > b.length) return undefined;
    const n = short ? b[p + 1]! : u32(b, p + 1);
    if (p + head + n > b.length) return undefined;
    let s: string;
    try {
      s = utf8(b, p + head, p + head + n);
    } catch {
      return undefined;
    }
    this.p += head + n;
    this.ops++;
    return s;
  }

  /**
   * A tuple of non-negative ints (EMPTY_TUPLE, 1-3 ints and TUPLE1-3, or MARK, ints, TUPLE) into
   * `out`, which keeps its length (no resizing per tensor): returns how many, or NO.
   */
  private ints(b: Uint8Array, m: MachineState, out: number[]): number {
    if (this.op(b, Op.EMPTY_TUPLE)) return 0;
    const marked = this.op(b, Op.MARK);
    // (MARK TUPLE builds a new empty tuple, not the shared one: left to the interpreter.)
    let n = 0;
    for (;;) {
      const v = this.uint(b);
      if (v === NO) break;
      if (n === out.length || n >= m.limits.maxContainerItems) return NO;
      out[n++] = v;
    }
    const close = b[this.p];
    if (marked) return n > 0 && this.op(b, Op.TUPLE) ? n : NO;
    if ((n === 1 && close === Op.TUPLE1) || (n === 2 && close === Op.TUPLE2) || (n === 3 && close === Op.TUPLE3)) {
      this.op(b, close);
      return n;
    }
    return NO;
  }
}

/** The tuple the opcodes would have built of the first `n` items (the shared empty one for EMPTY_TUPLE). */
function tupleOf(items: number[], n: number): PyTuple {
  return n === 0 ? EMPTY_TUPLE : new PyTuple(items.slice(0, n));
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}
