export { readZip, isZipSignature, type ZipArchive, type ZipEntry } from "./central-directory.js";
export { entryDataOffset, readEntry, DEFAULT_MAX_ENTRY_BYTES } from "./entry.js";
export { dataOffsetAt, prefetchDataOffsets, recordStartIn, smallRecordStart, smallRecordRange, SMALL_RECORD } from "./local-header.js";
