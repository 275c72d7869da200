import { formatBytes } from "../core/units.js";
import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("integrity");

export const integrityCheck = defineCheck({
  id: "integrity",
  title: "Every byte read (--deep)",
  codes: ["BYTES_OK", "CRC_MISMATCH", "CRC_NOT_RECORDED", "NON_FINITE_VALUES", "RECORD_UNREADABLE"],
  run({ checkpoint: c, options }) {
    if (!options.deep || !c.integrity) return { skip: "default mode reads metadata only; run with --deep to read every byte" };
    if (c.integrity.length === 0) return { skip: "no file could be decoded to scan" };
    // Records in name order ("data/2" before "data/10"), whatever order the threads or shards finished in,
    // so a merged --shard run reports exactly what one process would.
    return findings(
      c.integrity.flatMap((f) => [
        ...sorted(f.crcMismatches, (m) => m.record).map((m) => r.error("CRC_MISMATCH", { file: f.rel, record: m.record, expected: hex(m.expected), actual: hex(m.actual) }, f.rel)),
        ...sorted(f.nonFinite, (n) => n.tensor).map((n) => r.error("NON_FINITE_VALUES", { file: f.rel, tensor: n.tensor, dtype: n.dtype, count: n.count }, f.rel)),
        ...sorted(f.readErrors, (e) => e.where).map((e) => r.error("RECORD_UNREADABLE", { file: f.rel, where: e.where, reason: e.reason }, f.rel)),
        f.crcNotRecorded > 0 ? r.info("CRC_NOT_RECORDED", { file: f.rel, count: f.crcNotRecorded }, f.rel) : undefined,
        f.crcMismatches.length + f.nonFinite.length + f.readErrors.length === 0
          ? r.pass("BYTES_OK", { file: f.rel, records: f.recordsChecked, size: formatBytes(f.bytesRead) }, f.rel)
          : undefined,
      ]).filter((x) => x !== undefined),
    );
  },
});

const sorted = <T>(list: T[], name: (x: T) => string): T[] => [...list].sort((a, b) => name(a).localeCompare(name(b), "en", { numeric: true }));

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
