import { FormatError } from "../../core/errors.js";

/**
 * The dtypes safetensors main (0.8.0-dev) accepts, with their bit sizes
 * (formats.md section 5). Order follows the crate's `Dtype` enum. The torch
 * names are what `torch.<name>` prints without the prefix, so they compare
 * directly with the dtypes the pickle decoder reports.
 */
const DTYPES = {
  BOOL: { bits: 8, torch: "bool" },
  // Packed fp4; torch only has the two-per-byte `float4_e2m1fn_x2`, which is what
  // safetensors' torch bindings load F4 as.
  F4: { bits: 4, torch: "float4_e2m1fn_x2" },
  // torch has no fp6 dtype; named after ml_dtypes so they stay recognisable.
  F6_E2M3: { bits: 6, torch: "float6_e2m3fn" },
  F6_E3M2: { bits: 6, torch: "float6_e3m2fn" },
  U8: { bits: 8, torch: "uint8" },
  I8: { bits: 8, torch: "int8" },
  F8_E5M2: { bits: 8, torch: "float8_e5m2" },
  F8_E4M3: { bits: 8, torch: "float8_e4m3fn" },
  F8_E8M0: { bits: 8, torch: "float8_e8m0fnu" },
  F8_E4M3FNUZ: { bits: 8, torch: "float8_e4m3fnuz" },
  F8_E5M2FNUZ: { bits: 8, torch: "float8_e5m2fnuz" },
  I16: { bits: 16, torch: "int16" },
  U16: { bits: 16, torch: "uint16" },
  F16: { bits: 16, torch: "float16" },
  BF16: { bits: 16, torch: "bfloat16" },
  I32: { bits: 32, torch: "int32" },
  U32: { bits: 32, torch: "uint32" },
  F32: { bits: 32, torch: "float32" },
  C64: { bits: 64, torch: "complex64" },
  F64: { bits: 64, torch: "float64" },
  I64: { bits: 64, torch: "int64" },
  U64: { bits: 64, torch: "uint64" },
} as const satisfies Record<string, { bits: number; torch: string }>;

export type SafetensorsDtype = keyof typeof DTYPES;

export const DTYPE_NAMES = Object.keys(DTYPES) as [SafetensorsDtype, ...SafetensorsDtype[]];

export function isSafetensorsDtype(dtype: string): dtype is SafetensorsDtype {
  return Object.hasOwn(DTYPES, dtype);
}

export function safetensorsDtypeBits(dtype: string): number {
  return lookup(dtype).bits;
}

/** F32 -> float32, BF16 -> bfloat16, F8_E4M3 -> float8_e4m3fn, BOOL -> bool, ... */
export function safetensorsToTorchDtype(dtype: string): string {
  return lookup(dtype).torch;
}

function lookup(dtype: string): { bits: number; torch: string } {
  if (!isSafetensorsDtype(dtype)) {
    throw new FormatError("SAFETENSORS_INVALID_HEADER_DESERIALIZATION", `unknown safetensors dtype ${JSON.stringify(dtype)}`, undefined, {
      rule: "InvalidHeaderDeserialization",
      dtype,
    });
  }
  return DTYPES[dtype];
}
