/**
 * One pass over a shard index (`model.safetensors.index.json`) in the form
 * transformers writes: an object with `metadata` (plain strings and
 * non-negative integers) and `weight_map` (tensor name -> shard file, strings
 * without escapes), any whitespace. Returns weight_map's entries in document
 * order, or undefined for anything else (the caller then uses JSON.parse and
 * its own checks, which say what is wrong). A mixture-of-experts index maps
 * tens of thousands of tensors: JSON.parse built an object of them only to
 * be copied into a Map. What this accepts is valid JSON read as JSON.parse
 * and the caller's checks read it: no duplicate keys, no "__proto__" key, no
 * tensor named like an array index (JSON.parse would list those first).
 */
export function parsePlainIndex(text: string): [string, string][] | undefined {
  const p = new IndexParser(text);
  try {
    return p.index();
  } catch (e) {
    if (e === NOT_PLAIN) return undefined;
    throw e;
  }
}

const NOT_PLAIN = new Error("not a plain index");

class IndexParser {
  private i = 0;

  constructor(private readonly s: string) {}

  index(): [string, string][] {
    let map: [string, string][] | undefined;
    let metadata = false;
    this.expect(0x7b);
    do {
      const key = this.string();
      this.expect(0x3a);
      if (key === "weight_map" && !map) map = this.weightMap();
      else if (key === "metadata" && !metadata) metadata = this.metadata();
      else throw NOT_PLAIN;
    } while (this.take(0x2c));
    this.expect(0x7d);
    this.ws();
    if (this.i !== this.s.length || !map) throw NOT_PLAIN;
    return map;
  }

  private weightMap(): [string, string][] {
    const out: [string, string][] = [];
    const seen = new Set<string>();
    this.expect(0x7b);
    if (this.take(0x7d)) return out;
    do {
      const tensor = this.string();
      const c = tensor.charCodeAt(0);
      if (tensor === "__proto__" || (c >= 0x30 && c <= 0x39) || seen.has(tensor)) throw NOT_PLAIN;
      seen.add(tensor);
      this.expect(0x3a);
      out.push([tensor, this.string()]);
    } while (this.take(0x2c));
    this.expect(0x7d);
    return out;
  }

  private metadata(): true {
    const keys = new Set<string>();
    this.expect(0x7b);
    if (this.take(0x7d)) return true;
    do {
      const key = this.string();
      if (keys.has(key)) throw NOT_PLAIN;
      keys.add(key);
      this.expect(0x3a);
      this.ws();
      if (this.s.charCodeAt(this.i) === 0x22) this.string();
      else this.uint();
    } while (this.take(0x2c));
    this.expect(0x7d);
    return true;
  }

  /** A string token with no escape and no control character. */
  private string(): string {
    this.expect(0x22);
    const s = this.s;
    const start = this.i;
    const close = s.indexOf('"', start);
    if (close < 0) throw NOT_PLAIN;
    for (let k = start; k < close; k++) {
      const c = s.charCodeAt(k);
      if (c < 0x20 || c === 0x5c) throw NOT_PLAIN;
    }
    this.i = close + 1;
    return s.slice(start, close);
  }

  /** Digits only, no leading zero, not followed by a fraction or exponent. */
  private uint(): void {
    const s = this.s;
    const start = this.i;
    while (this.i < s.length && s.charCodeAt(this.i) >= 0x30 && s.charCodeAt(this.i) <= 0x39) this.i++;
    const len = this.i - start;
    const next = s.charCodeAt(this.i);
    if (len === 0 || (len > 1 && s.charCodeAt(start) === 0x30) || next === 0x2e || next === 0x65 || next === 0x45) throw NOT_PLAIN;
  }

  private ws(): void {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  private take(c: number): boolean {
    this.ws();
    if (this.s.charCodeAt(this.i) !== c) return false;
    this.i++;
    return true;
  }

  private expect(c: number): void {
    if (!this.take(c)) throw NOT_PLAIN;
  }
}
