import { MailParseError } from './mail-parse-error';
import { parseFailureReason } from './parse-failure-reason';

describe('parseFailureReason', () => {
  it('starts a deadline failure with "parse timeout"', () => {
    expect(parseFailureReason(new MailParseError('timeout', 'parsing took longer than 10 ms'))).toBe(
      'parse timeout: parsing took longer than 10 ms',
    );
  });

  it("gives a cap's own message", () => {
    expect(parseFailureReason(new MailParseError('too-many-headers', 'too many headers: 1001'))).toBe(
      'too many headers: 1001',
    );
  });

  it('marks other parse errors unparsable and anything else a parser failure', () => {
    expect(parseFailureReason(new MailParseError('empty', 'the mail is empty'))).toBe('unparsable: the mail is empty');
    expect(parseFailureReason(new Error('worker exited'))).toBe('parser failed: worker exited');
  });
});
