/** What the caller asks for: the shared vocabulary of every layer from layouts up. */
export interface VerifyOptions {
  strict: boolean;
  /** Optimizer step tolerance (default 20). */
  tolerance: number;
  /** Used when the checkpoint does not record gradient accumulation. */
  gradientAccumulationSteps?: number;
  layout?: string;
  deep: boolean;
  allowGlobals: string[];
  /**
   * --torch-load weights-only: the resume runs torch >= 2.6, whose torch.load defaults to
   * weights_only=True, so a file it would refuse is a warning. Without it, information.
   */
  torchLoad?: "weights-only" | "any";
  /** --world-size N: processes the resumed run will have. */
  worldSize?: number;
  /** --gpus N: GPUs each process of the resumed run sees (torch.cuda.device_count()). */
  gpus?: number;
  /** --deep --shard i/n: read only the i-th of n byte-balanced parts of the records (0-based). */
  shard?: { index: number; count: number };
  /** --deep progress: bytes done of total. The CLI draws a bar; checks never see it. */
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_OPTIONS: VerifyOptions = {
  strict: false,
  tolerance: 20,
  deep: false,
  allowGlobals: [],
};
