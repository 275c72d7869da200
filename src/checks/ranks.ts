import type { Code } from "../findings/codes.js";
import { DEEPSPEED_CODES } from "../findings/codes-deepspeed.js";
import { ACCELERATE_CODES } from "../findings/codes-accelerate.js";
import { DCP_CODES } from "../findings/codes-dcp.js";
import { MEGATRON_CODES } from "../findings/codes-megatron.js";
import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("ranks");

/**
 * Multi-rank saves: every rank file the recorded world size calls for, and the
 * ranks' agreement. The layout that found the save judged it; this check
 * reports its summary and findings, and a pass when it found nothing wrong.
 */
export const ranksCheck = defineCheck({
  id: "ranks",
  title: "Every rank's files, in agreement",
  codes: ["RANKS_SUMMARY", "RANKS_CONSISTENT", ...(Object.keys(DEEPSPEED_CODES) as Code[]), ...(Object.keys(DCP_CODES) as Code[]), ...(Object.keys(MEGATRON_CODES) as Code[]), ...(Object.keys(ACCELERATE_CODES) as Code[])],
  run({ checkpoint: c }) {
    if (c.sharded.length === 0) return { skip: "not a multi-rank save" };
    return findings(
      c.sharded.flatMap((s) => {
        const where = s.rel === "" ? "the checkpoint folder" : s.rel;
        const bad = s.findings.some((f) => f.level === "error" || f.level === "warn");
        return [
          r.info("RANKS_SUMMARY", { format: s.format, where, describe: s.describe }, s.rel || undefined),
          ...s.findings.map((f) => r.at(f.level)(f.code, f.data, f.file)),
          !bad && r.pass("RANKS_CONSISTENT", { format: s.format, where }, s.rel || undefined),
        ].filter((f) => f !== false);
      }),
    );
  },
});
