import { MAX_SUBJECT_TOKENS } from './limits';
import { subjectTokens } from './subject-tokens';

describe('subjectTokens', () => {
  it('finds [#n] tokens in order of appearance, each once', () => {
    expect(subjectTokens('Re: [#12] printer [#3] (was [#12])')).toEqual([12, 3]);
    expect(subjectTokens('Re: #12 [12] [#] [#1234567890]')).toEqual([]);
  });

  it(`takes the first ${MAX_SUBJECT_TOKENS} distinct [#n] tokens of a subject`, () => {
    const subject = Array.from({ length: MAX_SUBJECT_TOKENS + 1 }, (_, i) => `[#${i + 1}]`).join('');
    expect(subjectTokens(`Re: [#1] ${subject}`)).toEqual(Array.from({ length: MAX_SUBJECT_TOKENS }, (_, i) => i + 1));
  });
});
