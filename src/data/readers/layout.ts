/** Where a known format's columns sit in one concrete file. */
export interface Layout {
  /** the first line is a header */
  header: boolean;
  /** a leading unnamed row-index column (pandas `to_csv` without `index=False`) shifts every column by one */
  indexCol: boolean;
}
