/**
 * Types of the parts of `planer` (MIT, no published types) that visible-text.ts uses: its line
 * marking (`processMarkedLines`) and the regular expressions it marks lines with.
 */
declare module 'planer' {
  /** Where the quotation was found by processMarkedLines (lines firstLine..lastLine-1 were cut). */
  export interface PlanerReturnFlags {
    wereLinesDeleted?: boolean;
    firstLine?: number;
    lastLine?: number;
  }
  const planer: {
    /** planer's own plain-text extraction (unbounded regexes: visible-text.ts does not call it on mail). */
    extractFrom(body: string, contentType: 'text/plain'): string;
    /** The lines without the quotation, given one marker per line (e: empty, m: quoted, s: splitter, f: forward, t: text). */
    processMarkedLines(lines: string[], markers: string, returnFlags?: PlanerReturnFlags): string[];
  };
  export default planer;
}

declare module 'planer/lib/regexes.js' {
  const regexes: {
    QUOT_PATTERN: RegExp;
    FWD: RegExp;
    LINK: RegExp;
    SPLITTER_PATTERNS: RegExp[];
  };
  export default regexes;
}
