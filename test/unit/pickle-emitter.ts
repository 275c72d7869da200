/** Test-only: a tiny protocol-2 pickle emitter, just the opcodes torch.save uses. */
export type P = number[];
export const b = (s: string): P => [...Buffer.from(s, "latin1")];
export const cat = (...ps: P[]): P => ps.flat();
export const glob = (m: string, n: string) => b(`c${m}\n${n}\n`);
export const str = (s: string): P => {
  const u = Buffer.from(s);
  const l = Buffer.alloc(4);
  l.writeUInt32LE(u.length);
  return [0x58, ...l, ...u];
};
/** BININT1, BININT or LONG1 (8 bytes), as pickle picks. */
export const int = (n: number | bigint): P => {
  if (typeof n === "number" && n >= 0 && n < 256) return [0x4b, n];
  if (typeof n === "number" && n >= -(2 ** 31) && n < 2 ** 31) {
    const l = Buffer.alloc(4);
    l.writeInt32LE(n);
    return [0x4a, ...l];
  }
  const l = Buffer.alloc(8);
  l.writeBigInt64LE(BigInt(n));
  return [0x8a, 8, ...l];
};
export const tup = (...items: P[]): P => cat([0x28], ...items, [0x74]);
export const reduce = (callee: P, ...args: P[]) => cat(callee, tup(...args), [0x52]);
export const dict = (...kv: [string, P][]) => cat([0x7d, 0x28], ...kv.map(([k, v]) => cat(str(k), v)), [0x75]);
export const pickle = (body: P): Buffer => Buffer.from(cat([0x80, 0x02], body, [0x2e]));
export const f32 = (...xs: number[]): Buffer => {
  const o = Buffer.alloc(4 * xs.length);
  xs.forEach((x, i) => o.writeFloatLE(x, 4 * i));
  return o;
};
