import { parseImapLocation, parseImapUrl } from './imap-url';

describe('parseImapUrl', () => {
  it('decodes user, password and mailbox and keeps the password out of the key', async () => {
    const t = parseImapUrl('imap://support%40example.test:p%40ss%3Aw%2Frd@mail.test:1143/Support%20Desk');
    await expect(Promise.resolve(t)).resolves.toEqual({
      secure: false,
      host: 'mail.test',
      port: 1143,
      user: 'support@example.test',
      password: 'p@ss:w/rd',
      mailbox: 'Support Desk',
      key: 'imap://support%40example.test@mail.test:1143/Support%20Desk',
    });
    expect(t.key).not.toContain('p%40ss');
  });

  it('defaults to INBOX and the standard ports', async () => {
    expect(parseImapUrl('imap://u:p@mail.test')).toMatchObject({ port: 143, mailbox: 'INBOX', secure: false });
    expect(parseImapUrl('imaps://u:p@mail.test/')).toMatchObject({ port: 993, mailbox: 'INBOX', secure: true });
  });

  it('keeps hierarchy separators of nested mailboxes', async () => {
    expect(parseImapUrl('imap://u:p@mail.test/Support/Inbound').mailbox).toBe('Support/Inbound');
    expect(parseImapUrl('imap://u:p@mail.test/Support/Inbound').key).toBe('imap://u@mail.test:143/Support/Inbound');
  });

  it('strips the brackets of an IPv6 host for connecting', async () => {
    const t = parseImapUrl('imaps://u:p@[::1]:9993/INBOX');
    expect(t.host).toBe('::1');
    expect(t.key).toBe('imaps://u@[::1]:9993/INBOX');
  });

  it('rejects URLs without credentials or of another scheme, without echoing the password', async () => {
    expect(() => parseImapUrl('imap://mail.test/INBOX')).toThrow(/user and a password/);
    expect(() => parseImapUrl('imap://u@mail.test/INBOX')).toThrow(/user and a password/);
    expect(() => parseImapUrl('pop3://u:hunter22@mail.test')).toThrow(/imap:\/\/ or imaps:\/\//);
    expect(() => parseImapUrl('pop3://u:hunter22@mail.test')).not.toThrow(/hunter22/);
  });
});

describe('parseImapLocation', () => {
  it('gives the key parseImapUrl gives the same URL with its password (the cursor survives the upgrade)', async () => {
    const withPassword = parseImapUrl('imap://support%40example.test:secret@127.0.0.1:1143/INBOX');
    const stored = parseImapLocation('imap://support%40example.test@127.0.0.1:1143/INBOX');
    expect(stored.key).toBe(withPassword.key);
    expect(stored).toEqual({
      secure: false,
      host: '127.0.0.1',
      port: 1143,
      user: 'support@example.test',
      mailbox: 'INBOX',
      key: 'imap://support%40example.test@127.0.0.1:1143/INBOX',
    });
  });

  it('takes a URL without a user or a password, and ignores a password in it', async () => {
    expect(parseImapLocation('imaps://mail.test').key).toBe('imaps://@mail.test:993/INBOX');
    expect(parseImapLocation('imap://u:p@mail.test/X')).not.toHaveProperty('password');
    expect(() => parseImapLocation('http://mail.test')).toThrow(/imap:\/\/ or imaps:\/\//);
  });
});
