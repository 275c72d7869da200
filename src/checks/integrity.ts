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
    return findings(
      c.integrity.flatMap((f) => [
        ...f.crcMismatches.map((m) => r.error("CRC_MISMATCH", { file: f.rel, record: m.record, expected: hex(m.expected), actual: hex(m.actual) }, f.rel)),
        ...f.nonFinite.map((n) => r.error("NON_FINITE_VALUES", { file: f.rel, tensor: n.tensor, dtype: n.dtype, count: n.count }, f.rel)),
        ...f.readErrors.map((e) => r.error("RECORD_UNREADABLE", { file: f.rel, where: e.where, reason: e.reason }, f.rel)),
        f.crcNotRecorded > 0 ? r.info("CRC_NOT_RECORDED", { file: f.rel, count: f.crcNotRecorded }, f.rel) : undefined,
        f.crcMismatches.length + f.nonFinite.length + f.readErrors.length === 0
          ? r.pass("BYTES_OK", { file: f.rel, records: f.recordsChecked, size: formatBytes(f.bytesRead) }, f.rel)
          : undefined,
      ]).filter((x) => x !== undefined),
    );
  },
});

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
