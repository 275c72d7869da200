/**
 * What the fuzzer mutates: every input file under fixtures/readers and
 * fixtures/checkpoints. A file inside a checkpoint folder is mutated in a
 * private copy of the whole checkpoint (same folder name, so layout detection
 * sees what it would see), then restored; a single file is written on its own.
 * A checkpoint can hold folders of its own (a DeepSpeed tag, a DCP folder, a
 * Megatron iteration): see checkpointRoot. The fixtures themselves are only ever read.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { FIXTURES } from "../helpers.js";

export interface Target {
  /** The fixture file, relative to fixtures/. */
  fixture: string;
  /** The checkpoint folder it belongs to (relative to fixtures/), or undefined for a single file. */
  folder?: string;
  /** The file's path inside the folder, or its basename. */
  rel: string;
}

/** All fuzz targets, in a stable order. */
export function discoverTargets(): Target[] {
  const out: Target[] = [];
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    const files = entries.filter((e) => e.isFile() && !e.name.endsWith(".expected.json"));
    const isFolder = dir.includes(`${join("fixtures", "checkpoints")}/`) && !dir.endsWith("lightning") && files.length > 0;
    for (const f of files) {
      const fixture = relative(FIXTURES, join(dir, f.name));
      const root = isFolder ? checkpointRoot(dir) : undefined;
      out.push(root ? { fixture, folder: relative(FIXTURES, root), rel: relative(root, join(dir, f.name)) } : { fixture, rel: f.name });
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(join(FIXTURES, "readers"));
  walk(join(FIXTURES, "checkpoints"));
  return out;
}

/**
 * The checkpoint a file belongs to, verified whole so layout detection sees
 * what it would see (a DCP optimizer_0/ inside a Trainer checkpoint-N, a
 * Megatron mp_rank folder inside its save): the nearest folder whose parent is
 * marked by a `<parent>.expected.json` beside it; else the outermost of a
 * chain of folders that each hold files (a file in `checkpoint-10/global_step10/`
 * belongs to `checkpoint-10/`).
 */
function checkpointRoot(dir: string): string {
  const top = join(FIXTURES, "checkpoints");
  for (let d = dir; d.startsWith(`${top}/`) && dirname(d) !== top; d = dirname(d)) {
    if (existsSync(`${dirname(d)}.expected.json`)) return d;
  }
  let root = dir;
  while (holdsFiles(dirname(root))) root = dirname(root);
  return root;
}

function holdsFiles(dir: string): boolean {
  return readdirSync(dir, { withFileTypes: true }).some((e) => e.isFile() && !e.name.endsWith(".expected.json"));
}

/** Private copies of the fixture folders; one file is swapped for a mutant and put back. */
export class Workspace {
  readonly root: string;
  private readonly copies = new Map<string, string>();
  private readonly originals = new Map<string, Buffer>();

  constructor(base = tmpdir()) {
    this.root = mkdtempSync(join(base, "vc-fuzz-"));
  }

  original(t: Target): Buffer {
    let b = this.originals.get(t.fixture);
    if (!b) {
      b = readFileSync(join(FIXTURES, t.fixture));
      this.originals.set(t.fixture, b);
    }
    return b;
  }

  /** Writes the mutant where it will be verified; returns the path to verify and the mutated file's path. */
  place(t: Target, bytes: Uint8Array): { verifyPath: string; filePath: string } {
    if (t.folder) {
      let copy = this.copies.get(t.folder);
      if (!copy) {
        copy = join(this.root, `f${this.copies.size}`, basename(t.folder));
        mkdirSync(join(copy, ".."), { recursive: true });
        cpSync(join(FIXTURES, t.folder), copy, { recursive: true });
        this.copies.set(t.folder, copy);
      }
      const filePath = join(copy, t.rel);
      writeFileSync(filePath, bytes);
      return { verifyPath: copy, filePath };
    }
    const dir = join(this.root, "single");
    mkdirSync(dir, { recursive: true });
    const filePath = join(dir, t.rel);
    writeFileSync(filePath, bytes);
    return { verifyPath: filePath, filePath };
  }

  /** Puts the original bytes back (folder targets) or removes the single file. */
  restore(t: Target, placed: { filePath: string }): void {
    if (t.folder) writeFileSync(placed.filePath, this.original(t));
    else rmSync(placed.filePath, { force: true });
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
