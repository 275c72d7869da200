import type { VerifyOptions } from "../core/options.js";
import type { DirEntry } from "../storage/types.js";
import type { FileLoader } from "./file-loader.js";
import type { NormalisedCheckpoint } from "./types.js";

/**
 * What a layout is given: a folder (the loader is rooted at it and `entries`
 * lists it) or one file (the loader is rooted at its folder and `file` is its
 * name there).
 */
export type Target = { kind: "folder"; name: string; entries: DirEntry[] } | { kind: "file"; name: string; file: string };

/** One checkpoint layout: how to recognise it and how to reduce it to a NormalisedCheckpoint. */
export interface Layout {
  /** The name in the report and in `--layout`. */
  name: string;
  /** The kinds of path it reads. */
  takes: readonly Target["kind"][];
  /**
   * Why this layout fits the target, or undefined. Layouts are asked in
   * registry order and the first answer wins, so a more specific layout
   * comes before a more general one.
   */
  detect(target: Target, loader: FileLoader): string | undefined | Promise<string | undefined>;
  load(loader: FileLoader, target: Target, options: VerifyOptions): Promise<NormalisedCheckpoint>;
  /**
   * A run folder (a training's output folder, not a checkpoint) resolved to the
   * checkpoint this layout's framework resumes from, as the framework picks it:
   * Trainer's highest `checkpoint-N`, Lightning's `last.ckpt`. Asked, in registry
   * order, only when no layout but `generic` recognises the folder.
   */
  resolve?(target: Target & { kind: "folder" }, loader: FileLoader): Promise<Resolution | undefined>;
}

/** Where a run folder's framework resumes from. */
export interface Resolution {
  /** The checkpoint, relative to the run folder. */
  rel: string;
  /** Who picks it: "Trainer", "Lightning". */
  framework: string;
  /** How the framework picked it: "the highest checkpoint-N, as Trainer's get_last_checkpoint picks". */
  rule: string;
  /** What else was there: the other checkpoint-N folders, other last*.ckpt files. */
  others: string[];
}

/** Exists for type inference only, as defineCheck does. */
export function defineLayout(layout: Layout): Layout {
  return layout;
}

/** Names an interrupted save leaves before its final rename (`training_state.pth.tmp`): the name it was going to have. */
export function savedName(name: string): string {
  return name.replace(/(\.tmp|\.temp|\.partial|\.part|\.incomplete|~)$/, "");
}
