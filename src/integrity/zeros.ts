/**
 * True when every float element of `bytes` is +0 or -0. An Adam `exp_avg_sq`
 * that is all zeros while `exp_avg` is not is the fp16-underflow signature
 * (the first resumed steps divide by eps). The scan stops at the first other
 * value, so on real data it costs one element; only a truly zero tensor is read
 * through, at typed-array speed on little-endian data.
 */
export function allZero(bytes: Uint8Array, dtype: string, bigEndian = false): boolean {
  const size = ELEMENT_BYTES[dtype];
  if (size === undefined) return false;
  const n = Math.floor(bytes.length / size);
  if (!bigEndian && bytes.byteOffset % 4 === 0 && size >= 4) {
    // float32/complex64: the sign is bit 31; float64/complex128: the high word's bit 31, low word zero.
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, (n * size) / 4);
    for (let i = 0; i < words.length; i++) if ((size === 8 && i % 2 === 0 ? words[i]! : words[i]! & 0x7fffffff) !== 0) return false;
    return true;
  }
  if (!bigEndian && bytes.byteOffset % 2 === 0 && size === 2) {
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    for (let i = 0; i < n; i++) if ((halves[i]! & 0x7fff) !== 0) return false;
    return true;
  }
  const signByte = bigEndian ? 0 : size - 1;
  for (let at = 0; at < n * size; at += size) {
    for (let b = 0; b < size; b++) if ((b === signByte ? bytes[at + b]! & 0x7f : bytes[at + b]!) !== 0) return false;
  }
  return true;
}

/** allZero for float32/complex64 over words [from, to) of a view made once for a whole read buffer. */
export function allZero32At(words: Uint32Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if ((words[i]! & 0x7fffffff) !== 0) return false;
  return true;
}

/** Bytes per float component (a complex number is two). */
const ELEMENT_BYTES: Record<string, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, complex64: 4, complex128: 8 };
