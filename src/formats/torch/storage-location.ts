export interface StorageLocation {
  key: string;
  /** Absolute file offset of the first byte. */
  offset: number;
  /** Bytes present (compressed bytes when `compressed`). */
  length: number;
  compressed: boolean;
}

/** Where located storages are, by key: a Map for legacy files, a view over the zip's columns for zip files. */
export interface StorageLocations extends ReadonlyMap<string, StorageLocation> {
  set(key: string, location: StorageLocation): unknown;
}
