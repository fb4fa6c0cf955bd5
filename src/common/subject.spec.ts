import { NO_SUBJECT, subjectOrNone } from './subject';

describe('subjectOrNone', () => {
  it('trims a subject and stands NO_SUBJECT for an empty one', () => {
    expect(subjectOrNone('  Printer broken ')).toBe('Printer broken');
    for (const empty of ['', '   ', null, undefined]) expect(subjectOrNone(empty)).toBe(NO_SUBJECT);
    expect(NO_SUBJECT).toBe('(no subject)');
  });
});
