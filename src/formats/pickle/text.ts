/**
 * Arguments of the protocol-0 text opcodes, parsed the way CPython's C
 * unpickler (_pickle.c) parses them, so that we accept what CPython accepts:
 * a file we refuse but Python loads would hide everything after the refusal.
 */
import { BadValue, latin1, pyInt } from "./bytes.js";

// CPython >= 3.11 refuses to convert longer decimal strings (sys.int_info.default_max_str_digits).
const MAX_DECIMAL_DIGITS = 4300;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

// strtol(s, &end, 0) consuming the whole line: leading spaces, sign, 0x hex, leading-0 octal, decimal.
const STRTOL = /^[ \t\n\v\f\r]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))$/;

/** INT: strtol first (so `I010` is octal 8 and `I01`/`I00` are bools), then Python's int(s, 0). */
export function parseIntLine(line: string): number | bigint | boolean {
  const m = STRTOL.exec(line);
  if (m) {
    let v: bigint;
    if (m[2] !== undefined) v = BigInt("0x" + m[2]);
    else if (m[3] !== undefined) v = m[3] === "" ? 0n : BigInt("0o" + m[3]);
    else v = BigInt(m[4]!);
    if (m[1] === "-") v = -v;
    if (v >= INT64_MIN && v <= INT64_MAX) {
      if (line.length === 2 && (v === 0n || v === 1n)) return v === 1n;
      return pyInt(v);
    }
  }
  return parsePyInt(line);
}

/** LONG: an optional trailing `L` (Python 2), then int(s, 0). */
export function parseLongLine(line: string): number | bigint {
  return parsePyInt(line.endsWith("L") ? line.slice(0, -1) : line);
}

/** Python's int(s, 0): whitespace around, sign, 0x/0o/0b prefixes, single underscores between digits. */
export function parsePyInt(text: string): number | bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xXoObB]_?)?([0-9a-fA-F_]+)[ \t\n\v\f\r]*$/.exec(text);
  if (!m) throw new BadValue(`invalid integer literal ${quote(text)}`);
  const prefix = (m[2] ?? "").replace("_", "").toLowerCase();
  const digits = m[3]!;
  const digitClass = prefix === "0x" ? "[0-9a-fA-F]" : prefix === "0o" ? "[0-7]" : prefix === "0b" ? "[01]" : "[0-9]";
  if (!new RegExp(`^${digitClass}(?:_?${digitClass})*$`).test(digits)) {
    throw new BadValue(`invalid integer literal ${quote(text)}`);
  }
  const clean = digits.replace(/_/g, "");
  if (prefix === "") {
    if (clean.length > 1 && clean[0] === "0" && /[1-9]/.test(clean)) {
      throw new BadValue(`invalid integer literal ${quote(text)} (leading zeros)`);
    }
    if (clean.length > MAX_DECIMAL_DIGITS) {
      throw new BadValue(`integer literal of ${clean.length} digits exceeds Python's ${MAX_DECIMAL_DIGITS}-digit limit`);
    }
  }
  const v = BigInt(prefix + clean);
  return pyInt(m[1] === "-" ? -v : v);
}

/** Non-negative decimal memo index of GET / PUT. */
export function parseMemoIndex(line: string): number {
  const v = parsePyInt(line);
  if (typeof v === "bigint" || v < 0) throw new BadValue(`memo index ${quote(line)} is negative or too large`);
  return v;
}

const FLOAT = /^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)$/i;

/** FLOAT: PyOS_string_to_double, which refuses overflow to infinity. */
export function parseFloatLine(line: string): number {
  if (!FLOAT.test(line)) throw new BadValue(`invalid float literal ${quote(line)}`);
  const body = line.replace(/^[+-]/, "").toLowerCase();
  const sign = line.startsWith("-") ? -1 : 1;
  if (body === "nan") return NaN;
  if (body === "inf" || body === "infinity") return sign * Infinity;
  const v = Number(line);
  if (!Number.isFinite(v)) throw new BadValue(`float literal ${quote(line)} overflows`);
  return v;
}

const SIMPLE_ESCAPES = new Map<number, number>([
  [0x5c, 0x5c], [0x27, 0x27], [0x22, 0x22], [0x62, 0x08], [0x66, 0x0c],
  [0x74, 0x09], [0x6e, 0x0a], [0x72, 0x0d], [0x76, 0x0b], [0x61, 0x07],
]);

/** STRING: a quoted Python 2 str literal (PyBytes_DecodeEscape), returned as the bytes it denotes. */
export function decodeStringLiteral(b: Uint8Array, start: number, end: number): number[] {
  const q = b[start];
  if (end - start < 2 || (q !== 0x27 && q !== 0x22) || b[end - 1] !== q) {
    throw new BadValue("the STRING opcode argument must be quoted");
  }
  const out: number[] = [];
  const stop = end - 1;
  let i = start + 1;
  while (i < stop) {
    const c = b[i++]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    if (i >= stop) throw new BadValue("trailing \\ in string");
    const e = b[i++]!;
    const simple = SIMPLE_ESCAPES.get(e);
    if (simple !== undefined) out.push(simple);
    else if (e === 0x0a) continue;
    else if (e >= 0x30 && e <= 0x37) {
      let v = e - 0x30;
      for (let k = 0; k < 2 && i < stop && b[i]! >= 0x30 && b[i]! <= 0x37; k++) v = v * 8 + (b[i++]! - 0x30);
      out.push(v & 0xff);
    } else if (e === 0x78) {
      const h1 = hexVal(i < stop ? b[i]! : -1);
      const h2 = hexVal(i + 1 < stop ? b[i + 1]! : -1);
      if (h1 < 0 || h2 < 0) throw new BadValue(`invalid \\x escape at position ${i - start - 3}`);
      out.push(h1 * 16 + h2);
      i += 2;
    } else {
      out.push(0x5c, e); // unknown escapes stay literal, as in Python
    }
  }
  return out;
}

/** UNICODE: raw-unicode-escape (latin-1 bytes plus \uXXXX and \UXXXXXXXX). */
export function decodeRawUnicodeEscape(b: Uint8Array, start: number, end: number): string {
  let out = "";
  let run = start;
  let i = start;
  while (i < end) {
    if (b[i] !== 0x5c || i + 1 >= end) {
      i++;
      continue;
    }
    const kind = b[i + 1];
    if (kind !== 0x75 && kind !== 0x55) {
      i += 2; // the backslash and the byte after it are both literal
      continue;
    }
    const count = kind === 0x75 ? 4 : 8;
    let cp = 0;
    for (let k = 0; k < count; k++) {
      const h = hexVal(i + 2 + k < end ? b[i + 2 + k]! : -1);
      if (h < 0) throw new BadValue(`truncated \\${kind === 0x75 ? "uXXXX" : "UXXXXXXXX"} escape`);
      cp = cp * 16 + h;
    }
    if (cp > 0x10ffff) throw new BadValue("\\Uxxxxxxxx out of range");
    out += latin1(b, run, i) + String.fromCodePoint(cp);
    i += 2 + count;
    run = i;
  }
  return out + latin1(b, run, end);
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + "..." : s);
}
