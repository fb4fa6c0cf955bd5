import { readSesNotification } from './ses-notification';

const raw = 'From: a@customer.test\r\nTo: support@desk.test\r\nSubject: Hi\r\n\r\nHello\r\n';
const received = (extra: Record<string, unknown> = {}, action: Record<string, unknown> = {}) =>
  JSON.stringify({
    notificationType: 'Received',
    mail: {
      source: 'a@customer.test',
      destination: ['Support@desk.test', 'other@elsewhere.test'],
      headers: [
        { name: 'From', value: 'a@customer.test' },
        { name: 'Subject', value: 'Big\r\nInjected: yes' },
        { name: 'Content-Type', value: 'multipart/mixed' },
        { name: 'Message-ID', value: '<m1@customer.test>' },
      ],
    },
    receipt: { recipients: ['support@desk.test'], action: { type: 'SNS', encoding: 'BASE64', ...action } },
    content: Buffer.from(raw).toString('base64'),
    ...extra,
  });

describe('readSesNotification', () => {
  it('decodes BASE64 content and gives the envelope: the rule’s recipients first, lower-cased, each once', () => {
    const n = readSesNotification(received());
    expect(n).toEqual({
      kind: 'mail',
      raw: Buffer.from(raw),
      envelopeFrom: 'a@customer.test',
      envelopeTo: ['support@desk.test', 'other@elsewhere.test'],
    });
  });

  it('takes UTF8 content (the default when no encoding is given) as it is', () => {
    const n = readSesNotification(received({ content: raw }, { encoding: undefined }));
    expect(n.kind === 'mail' && n.raw.toString()).toBe(raw);
    const m = readSesNotification(received({ content: raw }, { encoding: 'UTF8' }));
    expect(m.kind === 'mail' && m.raw.toString()).toBe(raw);
  });

  it('turns a mail without content into a stand-in with its headers (no header injection) and where the content is', () => {
    const n = readSesNotification(
      received({ content: undefined }, { type: 'S3', bucketName: 'b', objectKey: 'mail/k1' }),
    );
    expect(n.kind).toBe('without-content');
    if (n.kind !== 'without-content') return;
    expect(n.reason).toContain('s3://b/mail/k1');
    const text = n.placeholder.toString();
    expect(text).toContain('Subject: Big Injected: yes\r\n');
    expect(text).not.toContain('multipart/mixed');
    expect(text).toContain('X-SES-Original-Message-ID: <m1@customer.test>\r\n');
    expect(text).not.toMatch(/^Message-ID:/im);
    expect(text).toContain('X-MailDesk-SES-Content: s3://b/mail/k1');
  });

  it('answers other notifications (setup, sending events) as nothing to store', () => {
    expect(readSesNotification('{"notificationType":"AMAZON_SES_SETUP_NOTIFICATION"}')).toEqual({
      kind: 'other',
      notificationType: 'AMAZON_SES_SETUP_NOTIFICATION',
    });
  });

  it.each([
    ['not JSON', 'Successfully validated'],
    ['no type', '{}'],
    ['no receipt', '{"notificationType":"Received","mail":{}}'],
    ['recipients not a list', received({ receipt: { recipients: 'x' } })],
    ['non-base64 content', received({ content: '%%%' })],
    ['an unknown encoding', received({}, { encoding: 'UTF-16' })],
  ])('refuses %s', (_name, message) => {
    expect(readSesNotification(message).kind).toBe('invalid');
  });
});
