import { subjectTokens } from '../inbound-mail/parser/subject-tokens';
import { newSideToken, SIDE_TOKEN_LENGTH, sideMarker, sideTokens, withoutSideMarkers } from './side-token';
import { baseSubject } from '../common/subject';
import { forwardBody } from './side-threads.service';

describe('side tokens', () => {
  it('are random base32 of SIDE_TOKEN_LENGTH characters', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => newSideToken()));
    expect(tokens.size).toBe(100);
    for (const t of tokens) expect(t).toMatch(new RegExp(`^[a-z2-7]{${SIDE_TOKEN_LENGTH}}$`));
  });

  it('are read from a subject, lower-cased, each once; never as request tokens', () => {
    const t = newSideToken();
    const subject = `Re: Fwd: Printer ${sideMarker(42, t)} ${sideMarker(42, t.toUpperCase())}`;
    expect(sideTokens(subject)).toEqual([t]);
    expect(subjectTokens(subject)).toEqual([]);
    expect(sideTokens('Re: [#42] Printer [#42-f:short] [f:abcdefghabcdefgh]')).toEqual([]);
    expect(withoutSideMarkers(`Fwd: Printer ${sideMarker(42, t)}`)).toBe('Fwd: Printer');
  });

  it('leave the request token of the subject to baseSubject', () => {
    expect(baseSubject('Re: [#42] Printer')).toBe('Printer');
  });
});

describe('forwardBody', () => {
  const message = {
    id: 1,
    kind: 'customer' as const,
    fromAddress: 'alice@customer.test',
    fromName: 'Alice <script>',
    to: ['support@desk.test'],
    cc: [],
    subject: 'Printer <b>jam</b>',
    createdAt: new Date('2026-11-25T09:00:00Z'),
    text: 'It says <img src=x onerror=alert(1)>',
    cut: false,
  };

  it('quotes each message with its From, Date and Subject lines, the note first', () => {
    const { text } = forwardBody('Please look.', [message]);
    expect(text.split('\n')).toEqual([
      'Please look.',
      '',
      '---------- Forwarded message ----------',
      'From: Alice <script> <alice@customer.test>',
      'Date: Wed, 25 Nov 2026 09:00:00 GMT',
      'Subject: Printer <b>jam</b>',
      '',
      'It says <img src=x onerror=alert(1)>',
    ]);
  });

  it('escapes everything in the HTML alternative', () => {
    const { html } = forwardBody('<i>note</i>', [message]);
    expect(html).not.toMatch(/<(script|b|img|i)[ >]/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;i&gt;note&lt;/i&gt;');
  });

  it('marks a cut text', () => {
    expect(forwardBody('n', [{ ...message, cut: true }]).text).toMatch(/\[\.\.\. cut\]$/);
  });
});
