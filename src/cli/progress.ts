import { formatBytes } from "../core/units.js";

/**
 * A one-line progress bar on stderr for --deep: bytes done, rate, time left.
 * Redraws at most every 100 ms; the caller only creates it when stderr is a TTY.
 */
export function progressBar(write: (s: string) => void, now: () => number = Date.now): { update: (done: number, total: number) => void; finish: () => void } {
  const start = now();
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const t = now();
      if (t - last < 100 && done < total) return;
      last = t;
      drawn = true;
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const width = 30;
      const fill = Math.round(frac * width);
      const secs = Math.max((t - start) / 1000, 1e-3);
      const rate = done / secs;
      const left = rate > 0 ? (total - done) / rate : 0;
      write(`\r[${"#".repeat(fill)}${"-".repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(rate)}/s  ${left.toFixed(0)} s left `);
    },
    finish() {
      if (drawn) write("\r\x1b[2K");
    },
  };
}
