/**
 * Which memo keys a pickle ever reads back. torch's pickler memoizes almost
 * every value it writes (seven per tensor) and reads back only a handful (the
 * storage class, 'cpu', the rebuild function): a memo that holds every value
 * until the end keeps every intermediate tuple of a 200,000-tensor pickle
 * alive, and the garbage collector copies them all. Knowing the keys read
 * back, the machine stores only those.
 *
 * A fast pass over the opcodes, reading argument lengths exactly as the
 * interpreter does, up to the first STOP. Whenever it cannot be sure (an
 * unknown opcode, a malformed argument, PUT and MEMOIZE mixed), it answers
 * undefined: keep everything, as before.
 */
import { latin1 } from "./bytes.js";
import { parseMemoIndex } from "./text.js";

export interface MemoRefs {
  has(key: number): boolean;
}

/** Below this many bytes the whole memo is small: no pass is worth its cost. */
export const MEMO_REFS_MIN_BYTES = 256 * 1024;

/** Argument bytes of fixed-size opcodes; -1: no fixed size (handled in the switch). */
const FIXED = new Int8Array(256).fill(-1);
for (const c of [0x28, 0x2e, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x29, 0x85, 0x86, 0x87, 0x74, 0x5d, 0x6c, 0x7d, 0x64, 0x8f, 0x91, 0x61, 0x65, 0x73, 0x75, 0x90, 0x93, 0x52, 0x81, 0x92, 0x6f, 0x62, 0x51, 0x97, 0x98]) FIXED[c] = 0;
for (const c of [0x4b, 0x80, 0x82]) FIXED[c] = 1;
for (const c of [0x4d, 0x83]) FIXED[c] = 2;
for (const c of [0x4a, 0x84]) FIXED[c] = 4;
for (const c of [0x47, 0x95]) FIXED[c] = 8;

/** `maxOpcodes`: the decoder stops there, so the pass does too (a hostile file of 2 GB of NONE costs no more than its decode). */
export function memoReferences(bytes: Uint8Array, start: number, maxOpcodes = Infinity): MemoRefs | undefined {
  const n = bytes.length;
  const refs = new KeySet(new Uint32Array((n >>> 5) + 1), new Set<number>());
  let puts = false;
  let memoizes = 0;
  let p = start;
  // A small loop for the opcodes torch writes, so the optimizing compiler takes it over early; the rest in `other`.
  for (let ops = 0; p < n && ops < maxOpcodes; ops++) {
    const code = bytes[p++]!;
    const fixed = FIXED[code]!;
    if (fixed >= 0) {
      if (code === 0x2e) break; // STOP
      p += fixed;
    } else if (code === 0x68) { // BINGET
      refs.add(bytes[p]!);
      p += 1;
    } else if (code === 0x6a) { // LONG_BINGET
      refs.add(u32(bytes, p));
      p += 4;
    } else if (code === 0x72 || code === 0x71) { // LONG_BINPUT, BINPUT
      puts = true;
      p += code === 0x72 ? 4 : 1;
    } else if (code === 0x94) { // MEMOIZE
      memoizes++;
    } else {
      p = other(bytes, code, p, refs);
      if (p < 0) return undefined;
      if (code === 0x70) puts = true;
    }
  }
  // MEMOIZE stores at the memo's size: sequential keys only while no PUT chose a key of its own.
  if (puts && memoizes > 0) return undefined;
  return refs;
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 0x1000000;
}

/** Just past the newline-terminated argument at `p`, or -1 when there is none. */
function lineEnd(bytes: Uint8Array, p: number): number {
  const nl = bytes.indexOf(0x0a, p);
  return nl < 0 ? -1 : nl + 1;
}

/** The opcodes with variable-length or text arguments: returns where the next opcode starts, or -1 (give up). */
function other(bytes: Uint8Array, code: number, p: number, refs: KeySet): number {
  switch (code) {
    case 0x67: case 0x70: { // GET, PUT: the index as a text line
      const end = lineEnd(bytes, p);
      if (end < 0) return -1;
      let key: number;
      try {
        key = parseMemoIndex(latin1(bytes, p, end - 1));
      } catch {
        return -1;
      }
      if (code === 0x67) refs.add(key);
      return end;
    }
    case 0x8a: case 0x55: case 0x8c: case 0x43: return p + 1 + bytes[p]!; // LONG1, SHORT_BINSTRING, SHORT_BINUNICODE, SHORT_BINBYTES
    case 0x58: case 0x42: return p + 4 + u32(bytes, p); // BINUNICODE, BINBYTES
    case 0x54: case 0x8b: { // BINSTRING, LONG4: signed lengths
      const len = u32(bytes, p);
      return len >= 0x80000000 ? -1 : p + 4 + len;
    }
    case 0x8d: case 0x8e: case 0x96: // BINUNICODE8, BINBYTES8, BYTEARRAY8
      return p + 8 > bytes.length ? -1 : p + 8 + u32(bytes, p) + u32(bytes, p + 4) * 0x1_0000_0000;
    case 0x49: case 0x4c: case 0x46: case 0x53: case 0x56: case 0x50: // INT, LONG, FLOAT, STRING, UNICODE, PERSID
      return lineEnd(bytes, p);
    case 0x63: case 0x69: { // GLOBAL, INST: two lines
      const first = lineEnd(bytes, p);
      return first < 0 ? -1 : lineEnd(bytes, first);
    }
    default:
      return -1;
  }
}

class KeySet implements MemoRefs {
  constructor(
    private readonly dense: Uint32Array,
    private readonly sparse: Set<number>,
  ) {}

  add(key: number): void {
    if (key < this.dense.length * 32) this.dense[key >>> 5]! |= 1 << (key & 31);
    else this.sparse.add(key);
  }

  has(key: number): boolean {
    return key < this.dense.length * 32 ? (this.dense[key >>> 5]! & (1 << (key & 31))) !== 0 : this.sparse.has(key);
  }
}
