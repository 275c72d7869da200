/**
 * A second, linear pass over header JSON that JSON.parse has already
 * accepted. JSON.parse hides three things the reference parser (serde_json)
 * sees, and this recovers them without building a second value tree:
 *
 * - the order of the top-level keys (Object.entries lists integer-like keys
 *   such as "0" first, so a tensor named "0" would move);
 * - duplicate keys (JSON.parse keeps the last; the safetensors README forbids
 *   them, and two readers picking different entries is a parser-differential
 *   trick, so we reject them in every object);
 * - the literal text of numbers in `shape` and `data_offsets`: JSON.parse turns
 *   `1.0`, `1e3` and `-0` into integers and rounds anything past 2^53, where
 *   serde_json's usize rejects the first three and keeps the last exact.
 *
 * It also enforces serde_json's nesting limit (128), which JSON.parse lacks.
 * Because the input is known-valid JSON, the scanner only has to track
 * structure; it never recurses and touches each character about once, so a
 * 100 MB header of spaces costs one loop.
 */

export interface HeaderScan {
  /** Top-level keys in document order (decoded). */
  topLevelKeys: string[];
  duplicateKey?: { key: string; path: string[] };
  /** Per tensor, the first number in shape/data_offsets that is not a plain safe non-negative integer literal. */
  badNumbers: Map<string, { field: string; index: number; raw: string }>;
  /** Set when objects/arrays nest deeper than serde_json's recursion limit. */
  tooDeep: boolean;
}

/** serde_json fails once 128 containers are open at the same time. */
export const MAX_NESTING = 127;

const PLAIN_UINT = /^(0|[1-9][0-9]*)$/;

interface Frame {
  isObject: boolean;
  keys: Set<string> | undefined;
  key: string | undefined;
  expectKey: boolean;
  /** Index of the next element, for arrays. */
  index: number;
}

export function scanHeaderJson(text: string): HeaderScan {
  const out: HeaderScan = { topLevelKeys: [], badNumbers: new Map(), tooDeep: false };
  const stack: Frame[] = [];
  const len = text.length;
  let i = 0;
  while (i < len) {
    const c = text.charCodeAt(i);
    switch (c) {
      case 0x7b /* { */:
      case 0x5b /* [ */: {
        const isObject = c === 0x7b;
        stack.push({ isObject, keys: isObject ? new Set() : undefined, key: undefined, expectKey: isObject, index: 0 });
        if (stack.length > MAX_NESTING) {
          out.tooDeep = true;
          return out;
        }
        i++;
        break;
      }
      case 0x7d /* } */:
      case 0x5d /* ] */:
        stack.pop();
        i++;
        break;
      case 0x2c /* , */: {
        const top = stack[stack.length - 1];
        if (top) {
          if (top.isObject) top.expectKey = true;
          else top.index++;
        }
        i++;
        break;
      }
      case 0x22 /* " */: {
        const end = stringEnd(text, i);
        const top = stack[stack.length - 1];
        if (top?.isObject && top.expectKey) {
          const raw = text.slice(i + 1, end);
          // Only keys with escapes need decoding; JSON.parse of a valid string token is exact.
          const key = raw.includes("\\") ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
          if (top.keys!.has(key)) {
            out.duplicateKey = { key, path: stack.slice(0, -1).map((f) => (f.isObject ? (f.key ?? "") : String(f.index))) };
            return out;
          }
          top.keys!.add(key);
          top.key = key;
          top.expectKey = false;
          if (stack.length === 1) out.topLevelKeys.push(key);
        }
        i = end + 1;
        break;
      }
      default:
        if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
          let j = i + 1;
          while (j < len && isNumberChar(text.charCodeAt(j))) j++;
          // Only numbers directly inside a tensor entry's shape or data_offsets array (depth 3) matter.
          if (stack.length === 3 && !isPlainSafeUint(text, i, j)) checkNumber(out, stack, text.slice(i, j));
          i = j;
        } else {
          // whitespace, ':' and the letters of true/false/null
          i++;
        }
    }
  }
  return out;
}

/** Index of the closing quote of the string token starting at `start`. */
function stringEnd(text: string, start: number): number {
  let q = text.indexOf('"', start + 1);
  for (;;) {
    if (q < 0) return text.length; // unreachable for valid JSON; never loop forever
    // A quote is escaped when an odd number of backslashes precede it.
    let k = q - 1;
    while (text.charCodeAt(k) === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) return q;
    q = text.indexOf('"', q + 1);
  }
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/** Digits only, no leading zero, below 2^53: what every real shape and offset is (checked without a slice). */
function isPlainSafeUint(text: string, i: number, j: number): boolean {
  if (j - i > 15 || (text.charCodeAt(i) === 0x30 && j - i > 1)) return false;
  for (let k = i; k < j; k++) {
    const c = text.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Called for numbers at depth 3 only: records the first one in shape/data_offsets that is not a plain safe integer. */
function checkNumber(out: HeaderScan, stack: Frame[], raw: string): void {
  const [root, entry, arr] = stack as [Frame, Frame, Frame];
  if (arr.isObject || !entry.isObject || root.key === undefined || root.key === "__metadata__") return;
  if (entry.key !== "shape" && entry.key !== "data_offsets") return;
  if (PLAIN_UINT.test(raw) && (raw.length < 16 || BigInt(raw) <= BigInt(Number.MAX_SAFE_INTEGER))) return;
  if (!out.badNumbers.has(root.key)) out.badNumbers.set(root.key, { field: entry.key, index: arr.index, raw });
}
