/**
 * What stands for a subject when a mail has none: the subject of the request such a mail opens,
 * and the `{{subject}}` of the auto-replies about it.
 */
export const NO_SUBJECT = '(no subject)';

/** How long a subject is kept: RFC 5322's line length, the rest cut (the raw mail has it whole). */
export const MAX_SUBJECT_LENGTH = 998;

/** The subject trimmed, or NO_SUBJECT when nothing is left of it. */
export function subjectOrNone(subject: string | null | undefined): string {
  return subject?.trim() || NO_SUBJECT;
}

/**
 * A subject without reply prefixes (`Re:`, `Fwd:`, `AW:`...) and our own request tokens (`[#12]`):
 * the base of the subjects we write, and of a request split off another.
 */
export function baseSubject(subject: string): string {
  let s = subject.replace(/\[#\d+\]/g, ' ');
  for (;;) {
    const next = s.replace(/^\s*((re|fwd?|aw|sv|wg|antw)(\[\d+\])?\s*:\s*)/i, '');
    if (next === s) break;
    s = next;
  }
  return s.replace(/\s+/g, ' ').trim();
}
