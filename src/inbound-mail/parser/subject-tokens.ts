import { MAX_SUBJECT_TOKENS } from './limits';

/**
 * `[#123]` request tokens in a subject, in order of appearance, each once: the first
 * MAX_SUBJECT_TOKENS (each is looked up in the ingest transaction).
 */
export function subjectTokens(subject: string): number[] {
  const tokens = new Set<number>();
  for (const m of subject.matchAll(/\[#(\d{1,9})\]/g)) {
    if (tokens.size >= MAX_SUBJECT_TOKENS) break;
    tokens.add(Number(m[1]));
  }
  return [...tokens];
}
