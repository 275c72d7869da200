export { readZip, isZipSignature, type ZipArchive, type ZipEntry } from "./central-directory.js";
export { entryDataOffset, prefetchDataOffsets, readEntry, DEFAULT_MAX_ENTRY_BYTES } from "./entry.js";
