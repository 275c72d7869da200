export interface StorageLocation {
  key: string;
  /** Absolute file offset of the first byte. */
  offset: number;
  /** Bytes present (compressed bytes when `compressed`). */
  length: number;
  compressed: boolean;
}
