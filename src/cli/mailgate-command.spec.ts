import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exitForStatus, MAILGATE_EXIT, resolveTarget, withRecipient } from './mailgate-command';

describe('mailgate exit codes', () => {
  it('exits 0 for any success of the desk', () => {
    expect(exitForStatus(200)).toBe(MAILGATE_EXIT.ok);
    expect(exitForStatus(201)).toBe(MAILGATE_EXIT.ok);
  });

  it('exits 65 when the desk refuses the mail itself', () => {
    for (const status of [400, 413, 415]) expect(exitForStatus(status)).toBe(MAILGATE_EXIT.dataError);
  });

  it('exits 75 (retry) for 5xx, 429, a refused token and a wrong URL', () => {
    for (const status of [500, 502, 503, 504, 429, 401, 403, 404, 302]) {
      expect(exitForStatus(status)).toBe(MAILGATE_EXIT.tempFail);
    }
  });
});

describe('withRecipient', () => {
  it('puts a Delivered-To header before the mail in its own line ending', () => {
    expect(withRecipient(Buffer.from('Subject: x\r\n\r\nhi\r\n'), 'help@desk.test').toString()).toBe(
      'Delivered-To: help@desk.test\r\nSubject: x\r\n\r\nhi\r\n',
    );
    expect(withRecipient(Buffer.from('Subject: x\n\nhi\n'), 'help@desk.test').toString()).toBe(
      'Delivered-To: help@desk.test\nSubject: x\n\nhi\n',
    );
  });

  it('leaves the mail as it is without a recipient', () => {
    const raw = Buffer.from('Subject: x\r\n\r\nhi\r\n');
    expect(withRecipient(raw, undefined)).toBe(raw);
  });
});

describe('resolveTarget', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-mailgate-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('takes --url and --token as given, without reading the configuration', () => {
    expect(resolveTarget({ url: 'https://desk.example/api', token: 't0k' }, { PORT: 'not a port' })).toEqual({
      url: 'https://desk.example/api/inbound/mail',
      token: 't0k',
      hmacSecret: undefined,
    });
  });

  it("falls back to the server's PORT and INBOUND_TOKEN", () => {
    const target = resolveTarget({}, { PORT: '3999', DATA_DIR: dataDir, INBOUND_TOKEN: 'env-token-0123456789abc' });
    expect(target).toEqual({
      url: 'http://127.0.0.1:3999/inbound/mail',
      token: 'env-token-0123456789abc',
      hmacSecret: undefined,
    });
  });

  it('reads the token of DATA_DIR/secrets.json and never creates that file', () => {
    expect(() => resolveTarget({}, { DATA_DIR: dataDir })).toThrow(/no inbound token/);
    expect(fs.existsSync(path.join(dataDir, 'secrets.json'))).toBe(false);
    fs.writeFileSync(path.join(dataDir, 'secrets.json'), JSON.stringify({ inboundToken: 'stored-token' }), {
      mode: 0o600,
    });
    expect(resolveTarget({ url: 'http://10.0.0.1:3000' }, { DATA_DIR: dataDir }).token).toBe('stored-token');
  });
});
