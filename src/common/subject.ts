/**
 * What stands for a subject when a mail has none: the subject of the request such a mail opens,
 * and the `{{subject}}` of the auto-replies about it.
 */
export const NO_SUBJECT = '(no subject)';

/** The subject trimmed, or NO_SUBJECT when nothing is left of it. */
export function subjectOrNone(subject: string | null | undefined): string {
  return subject?.trim() || NO_SUBJECT;
}
