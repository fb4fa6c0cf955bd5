import { auditBody, MAX_TEXT, REDACTED, redact, textSummary } from './redact';

describe('redact', () => {
  it('hides the values of secret keys at any depth, keeps numbers, booleans and nulls under them', () => {
    const input = {
      name: 'Ada',
      password: 'hunter2-hunter2',
      nested: { clientSecret: 'abc', accessToken: 'tok', oauth2: { refresh_secret: 'r' } },
      token_hash: 'f'.repeat(64),
      token_version: 3,
      apiKey: 'k',
      secret: null,
      hasPassword: true,
      list: [{ webhookSecret: 's' }],
    };
    expect(redact(input)).toEqual({
      name: 'Ada',
      password: REDACTED,
      nested: { clientSecret: REDACTED, accessToken: REDACTED, oauth2: { refresh_secret: REDACTED } },
      token_hash: REDACTED,
      token_version: 3,
      apiKey: REDACTED,
      secret: null,
      hasPassword: true,
      list: [{ webhookSecret: REDACTED }],
    });
    // The input is not changed.
    expect(input.password).toBe('hunter2-hunter2');
  });

  it("redacts a URL's password wherever it is", () => {
    expect(redact({ imapUrl: 'imaps://support%40x.test:s3cret@imap.x.test:993/INBOX' })).toEqual({
      imapUrl: `imaps://support%40x.test:${REDACTED}@imap.x.test:993/INBOX`,
    });
    expect(redact('see smtp://u:p@h and smtp://h2')).toBe(`see smtp://u:${REDACTED}@h and smtp://h2`);
    expect(redact('mailto:a@b.test')).toBe('mailto:a@b.test');
  });

  it('records long texts by length and digest, and bounds arrays and depth', () => {
    const long = 'x'.repeat(MAX_TEXT + 1);
    expect(redact(long)).toBe(textSummary(long));
    expect(textSummary(long)).toMatch(new RegExp(`^\\[${MAX_TEXT + 1} chars, sha256 [0-9a-f]{16}\\]$`));
    const many = redact(Array.from({ length: 150 }, (_, i) => i)) as unknown[];
    expect(many).toHaveLength(101);
    expect(many[100]).toBe('[50 more]');
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 10; i++) deep = { deep };
    expect(JSON.stringify(redact(deep))).toContain('[nested]');
  });

  it('turns Dates into ISO text, Buffers into a length, and drops functions and undefined', () => {
    expect(redact({ at: new Date('2026-12-07T10:00:00Z'), raw: Buffer.from('abc'), f: () => 1, u: undefined })).toEqual({
      at: '2026-12-07T10:00:00.000Z',
      raw: '[3 bytes]',
    });
  });
});

describe('auditBody', () => {
  it('keeps only the length of the lengthOnly fields, and redacts the rest', () => {
    expect(auditBody({ text: 'Hello there', html: '<p>Hello</p>', cc: ['a@b.test'], password: 'p' }, ['text', 'html'])).toEqual({
      text: { length: 11 },
      html: { length: 12 },
      cc: ['a@b.test'],
      password: REDACTED,
    });
    expect(auditBody(null, ['text'])).toBeNull();
    expect(auditBody(undefined, [])).toBeNull();
  });

  it('keeps the presentOnly fields as present only, neither content nor length', () => {
    expect(auditBody({ confirm: 'jane@example.com', keep: 1 }, [], ['confirm', 'absent'])).toEqual({
      confirm: { present: true },
      keep: 1,
    });
  });
});
