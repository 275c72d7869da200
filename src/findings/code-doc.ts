export interface CodeDoc {
  /** Message template; `{name}` is filled from the finding's data. */
  message: string;
  /** Why it matters for a resume. */
  why: string;
  /** What to do about it. */
  fix: string;
}
