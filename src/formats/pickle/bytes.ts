/**
 * Turning runs of pickle bytes into JS strings and ints. Failures throw
 * BadValue; the machine turns it into a PickleError at the current opcode.
 */
export class BadValue extends Error {}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });
// fromCharCode.apply takes at most this many arguments safely.
const CHUNK = 8192;

function codesToString(codes: ArrayLike<number>, start: number, end: number): string {
  if (end - start <= CHUNK) {
    return String.fromCharCode.apply(null, Array.prototype.slice.call(codes, start, end) as number[]);
  }
  let out = "";
  for (let i = start; i < end; i += CHUNK) {
    out += String.fromCharCode.apply(null, Array.prototype.slice.call(codes, i, Math.min(end, i + CHUNK)) as number[]);
  }
  return out;
}

/** Python 2 `str` and raw text lines: every byte is one code point. */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  // The shortest strings are the most frequent (a torch storage key per tensor): one call, no concatenation.
  switch (end - start) {
    case 0: return "";
    case 1: return String.fromCharCode(bytes[start]!);
    case 2: return String.fromCharCode(bytes[start]!, bytes[start + 1]!);
    case 3: return String.fromCharCode(bytes[start]!, bytes[start + 1]!, bytes[start + 2]!);
    case 4: return String.fromCharCode(bytes[start]!, bytes[start + 1]!, bytes[start + 2]!, bytes[start + 3]!);
    case 5: return String.fromCharCode(bytes[start]!, bytes[start + 1]!, bytes[start + 2]!, bytes[start + 3]!, bytes[start + 4]!);
    case 6: return String.fromCharCode(bytes[start]!, bytes[start + 1]!, bytes[start + 2]!, bytes[start + 3]!, bytes[start + 4]!, bytes[start + 5]!);
  }
  if (end - start < 32) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  return codesToString(bytes, start, end);
}

export function ascii(bytes: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) throw new BadValue(`non-ASCII byte 0x${bytes[i]!.toString(16)} in an ASCII argument`);
  }
  return latin1(bytes, start, end);
}

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/** UTF-8 as GLOBAL's module and name need it: invalid input is an error, as in CPython. */
export function utf8Strict(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 64 && isAscii(bytes, start, end)) return latin1(bytes, start, end);
  try {
    return utf8Fatal.decode(bytes.subarray(start, end));
  } catch {
    throw new BadValue("invalid UTF-8");
  }
}

/**
 * UTF-8 with CPython's "surrogatepass", which is what BINUNICODE uses: an
 * encoded lone surrogate must decode, or a hostile file could make us stop
 * reading at a string CPython accepts and hide what follows.
 */
export function utf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 64 && isAscii(bytes, start, end)) return latin1(bytes, start, end);
  try {
    return utf8Fatal.decode(bytes.subarray(start, end));
  } catch {
    return utf8SurrogatePass(bytes, start, end);
  }
}

function utf8SurrogatePass(bytes: Uint8Array, start: number, end: number): string {
  const units: number[] = [];
  let i = start;
  const bad = (): never => {
    throw new BadValue(`invalid UTF-8 at byte ${i - start} of the string`);
  };
  const cont = (k: number): number => {
    const b = k < end ? bytes[k]! : 0;
    if ((b & 0xc0) !== 0x80) bad();
    return b & 0x3f;
  };
  while (i < end) {
    const b = bytes[i]!;
    if (b < 0x80) {
      units.push(b);
      i += 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
      units.push(((b & 0x1f) << 6) | cont(i + 1));
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      const cp = ((b & 0x0f) << 12) | (cont(i + 1) << 6) | cont(i + 2);
      if (cp < 0x800) bad();
      units.push(cp);
      i += 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      const cp = ((b & 0x07) << 18) | (cont(i + 1) << 12) | (cont(i + 2) << 6) | cont(i + 3);
      if (cp < 0x10000 || cp > 0x10ffff) bad();
      units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
      i += 4;
    } else {
      bad();
    }
  }
  return codesToString(units, 0, units.length);
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Python int -> number when it is a safe integer, else bigint. */
export function pyInt(v: bigint): number | bigint {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

/** LONG1/LONG4 payload: little-endian two's complement. */
export function decodeLong(bytes: Uint8Array, start: number, n: number): number | bigint {
  if (n === 0) return 0;
  if (n <= 6) {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[start + i]!;
    if (bytes[start + n - 1]! & 0x80) v -= 2 ** (8 * n);
    return v;
  }
  let hex = "";
  for (let i = n - 1; i >= 0; i--) hex += HEX[bytes[start + i]!];
  let big = BigInt("0x" + hex);
  if (bytes[start + n - 1]! & 0x80) big -= 1n << BigInt(8 * n);
  return pyInt(big);
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
