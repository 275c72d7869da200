import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allZero } from "../../src/integrity/zeros.js";

/** Bytes written element by element with DataView, in the byte order asked for. */
function floats(kind: "f32" | "f64" | "f16bits", values: number[], bigEndian = false, offset = 0): Uint8Array {
  const size = kind === "f64" ? 8 : kind === "f32" ? 4 : 2;
  const buf = new Uint8Array(offset + values.length * size);
  const dv = new DataView(buf.buffer);
  values.forEach((v, i) => {
    const at = offset + i * size;
    if (kind === "f64") dv.setFloat64(at, v, !bigEndian);
    else if (kind === "f32") dv.setFloat32(at, v, !bigEndian);
    else dv.setUint16(at, v, !bigEndian);
  });
  return buf.subarray(offset);
}

describe("allZero: every element +0 or -0", () => {
  const cases: [string, Uint8Array, string, boolean, boolean][] = [
    ["float32 +0 and -0", floats("f32", [0, -0, 0]), "float32", false, true],
    ["float32 smallest subnormal", floats("f32", [0, 1e-45]), "float32", false, false],
    ["float32 big-endian -0", floats("f32", [-0, 0], true), "float32", true, true],
    ["float32 big-endian 2", floats("f32", [0, 2], true), "float32", true, false],
    ["float32 unaligned view", floats("f32", [0, -0], false, 1), "float32", false, true],
    ["float64 -0", floats("f64", [-0, 0]), "float64", false, true],
    ["float64 5e-324 (low word only)", floats("f64", [0, 5e-324]), "float64", false, false],
    ["float16 -0 bits 0x8000", floats("f16bits", [0x8000, 0]), "float16", false, true],
    ["float16 6e-8 bits 0x0001", floats("f16bits", [0, 0x0001]), "float16", false, false],
    ["bfloat16 big-endian 0x8000", floats("f16bits", [0x8000], true), "bfloat16", true, true],
    ["complex64 (0, -0)", floats("f32", [0, -0]), "complex64", false, true],
    ["an integer dtype is never judged", new Uint8Array(8), "int64", false, false],
  ];
  for (const [name, bytes, dtype, be, want] of cases) it(name, () => assert.equal(allZero(bytes, dtype, be), want));
});
