import { FormatError } from "../../core/errors.js";

/**
 * torch dtypes: sizes, the legacy `torch.<X>Storage` classes, and decoding of
 * raw element bytes. Conversions of the small float formats are done by hand
 * because JavaScript has no float16/bfloat16/float8 views.
 */

export interface DtypeInfo { dtype: string; itemSize: number }

/** The 17 legacy typed-storage classes (formats.md §1). */
export const LEGACY_STORAGES: Readonly<Record<string, DtypeInfo>> = {
  DoubleStorage: { dtype: "float64", itemSize: 8 },
  FloatStorage: { dtype: "float32", itemSize: 4 },
  HalfStorage: { dtype: "float16", itemSize: 2 },
  LongStorage: { dtype: "int64", itemSize: 8 },
  IntStorage: { dtype: "int32", itemSize: 4 },
  ShortStorage: { dtype: "int16", itemSize: 2 },
  CharStorage: { dtype: "int8", itemSize: 1 },
  ByteStorage: { dtype: "uint8", itemSize: 1 },
  BoolStorage: { dtype: "bool", itemSize: 1 },
  BFloat16Storage: { dtype: "bfloat16", itemSize: 2 },
  ComplexDoubleStorage: { dtype: "complex128", itemSize: 16 },
  ComplexFloatStorage: { dtype: "complex64", itemSize: 8 },
  QInt8Storage: { dtype: "qint8", itemSize: 1 },
  QInt32Storage: { dtype: "qint32", itemSize: 4 },
  QUInt8Storage: { dtype: "quint8", itemSize: 1 },
  QUInt4x2Storage: { dtype: "quint4x2", itemSize: 1 },
  QUInt2x4Storage: { dtype: "quint2x4", itemSize: 1 },
};

const SIZES: Record<string, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2,
  int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
  uint16: 2, uint32: 4, uint64: 8,
  complex128: 16, complex64: 8, complex32: 4,
  qint8: 1, quint8: 1, qint32: 4, quint4x2: 1, quint2x4: 1,
  float8_e5m2: 1, float8_e4m3fn: 1, float8_e5m2fnuz: 1, float8_e4m3fnuz: 1, float8_e8m0fnu: 1, float4_e2m1fn_x2: 1,
  bits8: 1, bits16: 2, bits1x8: 1, bits2x4: 1, bits4x2: 1,
  uint1: 1, uint2: 1, uint3: 1, uint4: 1, uint5: 1, uint6: 1, uint7: 1,
  int1: 1, int2: 1, int3: 1, int4: 1, int5: 1, int6: 1, int7: 1,
};

/** torch's attribute aliases (`torch.float` is `torch.float32`); pickles use primary names, hand-made ones may not. */
const ALIASES: Record<string, string> = {
  float: "float32", double: "float64", half: "float16", long: "int64", int: "int32", short: "int16",
  cfloat: "complex64", cdouble: "complex128", chalf: "complex32",
};

/** Primary dtype name for a `torch.<name>` dtype global, or undefined when it is not a dtype. */
export function dtypeFromName(name: string): string | undefined {
  const n = ALIASES[name] ?? name;
  return Object.hasOwn(SIZES, n) ? n : undefined;
}

const SIZE_OF = new Map(Object.entries(SIZES));

export function itemSizeOf(dtype: string): number | undefined {
  return SIZE_OF.get(dtype);
}

export function legacyStorage(className: string): DtypeInfo | undefined {
  return Object.hasOwn(LEGACY_STORAGES, className) ? LEGACY_STORAGES[className] : undefined;
}

export type ElementValue = number | bigint | boolean | [number, number];

const scratch = new DataView(new ArrayBuffer(8));

export function float16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function bfloat16(bits: number): number {
  scratch.setUint32(0, bits << 16);
  return scratch.getFloat32(0);
}

/**
 * 8-bit floats. "fn" formats have no infinity and one NaN pattern (all ones);
 * "fnuz" formats have no infinity, no negative zero, and NaN = 0x80.
 */
function minifloat(v: number, expBits: number, mantBits: number, bias: number, mode: "ieee" | "fn" | "fnuz"): number {
  const signBit = 1 << (expBits + mantBits);
  const expMax = (1 << expBits) - 1;
  const mantMax = (1 << mantBits) - 1;
  if (mode === "fnuz" && v === signBit) return NaN;
  const sign = v & signBit ? -1 : 1;
  const exp = (v >> mantBits) & expMax;
  const mant = v & mantMax;
  if (mode === "ieee" && exp === expMax) return mant ? NaN : sign * Infinity;
  if (mode === "fn" && exp === expMax && mant === mantMax) return NaN;
  if (exp === 0) return sign * (mant / (1 << mantBits)) * 2 ** (1 - bias);
  return sign * (1 + mant / (1 << mantBits)) * 2 ** (exp - bias);
}

/** int64/uint64 stay numbers while exact, bigint beyond 2^53. */
function wide(v: bigint): number | bigint {
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Decodes `count` elements of `dtype` from the start of `bytes`. */
export function decodeElements(bytes: Uint8Array, dtype: string, count: number, byteOrder: "little" | "big"): ElementValue[] {
  const size = itemSizeOf(dtype);
  if (size === undefined) throw new FormatError("TORCH_UNKNOWN_DTYPE", `cannot decode elements of unknown dtype ${JSON.stringify(dtype)}`);
  if (!Number.isSafeInteger(count) || count < 0 || count * size > bytes.length) {
    throw new FormatError("TORCH_TRUNCATED", `${count} elements of ${dtype} need ${count * size} bytes but only ${bytes.length} are available`);
  }
  const le = byteOrder === "little";
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ElementValue[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const p = i * size;
    out[i] = decodeOne(dv, p, dtype, le);
  }
  return out;
}

function decodeOne(dv: DataView, p: number, dtype: string, le: boolean): ElementValue {
  switch (dtype) {
    case "float64": return dv.getFloat64(p, le);
    case "float32": return dv.getFloat32(p, le);
    case "float16": return float16(dv.getUint16(p, le));
    case "bfloat16": return bfloat16(dv.getUint16(p, le));
    case "int64": return wide(dv.getBigInt64(p, le));
    case "uint64": return wide(dv.getBigUint64(p, le));
    case "int32": case "qint32": return dv.getInt32(p, le);
    case "uint32": return dv.getUint32(p, le);
    case "int16": return dv.getInt16(p, le);
    case "uint16": case "bits16": return dv.getUint16(p, le);
    case "int8": case "qint8": return dv.getInt8(p);
    case "bool": return dv.getUint8(p) !== 0;
    case "complex128": return [dv.getFloat64(p, le), dv.getFloat64(p + 8, le)];
    case "complex64": return [dv.getFloat32(p, le), dv.getFloat32(p + 4, le)];
    case "complex32": return [float16(dv.getUint16(p, le)), float16(dv.getUint16(p + 2, le))];
    case "float8_e5m2": return minifloat(dv.getUint8(p), 5, 2, 15, "ieee");
    case "float8_e4m3fn": return minifloat(dv.getUint8(p), 4, 3, 7, "fn");
    case "float8_e5m2fnuz": return minifloat(dv.getUint8(p), 5, 2, 16, "fnuz");
    case "float8_e4m3fnuz": return minifloat(dv.getUint8(p), 4, 3, 8, "fnuz");
    case "float8_e8m0fnu": {
      const v = dv.getUint8(p);
      return v === 0xff ? NaN : 2 ** (v - 127);
    }
    // uint8, quint8, packed sub-byte formats (quint4x2, float4_e2m1fn_x2, bits*, uintN/intN): the raw byte.
    default: return dv.getUint8(p);
  }
}
