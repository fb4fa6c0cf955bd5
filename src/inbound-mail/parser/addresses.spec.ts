import { envelopeSender, senderWithFallback, withEnvelopeSender } from './addresses';
import type { ParsedMail } from './parsed-mail';

const headers = (h: Record<string, string>) => new Map(Object.entries(h));

describe('senderWithFallback', () => {
  it('takes From when it has an address', () => {
    const r = senderWithFallback(undefined, headers({ from: 'Jane <Jane@Example.com>', sender: 's@example.com' }));
    expect(r).toEqual({ from: { address: 'jane@example.com', name: 'Jane' }, senderSource: 'from' });
  });

  it('tries Sender, then Reply-To, then Return-Path, skipping a null Return-Path', () => {
    expect(senderWithFallback(undefined, headers({ sender: 'S <s@x.test>', 'reply-to': 'r@x.test' }))).toMatchObject({
      from: { address: 's@x.test', name: 'S' },
      senderSource: 'sender',
    });
    expect(senderWithFallback(undefined, headers({ from: '[??????]', 'reply-to': 'r@x.test' }))).toMatchObject({
      from: { address: 'r@x.test', name: '' },
      senderSource: 'reply-to',
    });
    expect(
      senderWithFallback(undefined, headers({ from: 'Paul', 'return-path': '<p@x.test>\n<other@x.test>' })),
    ).toEqual({ from: { address: 'p@x.test', name: 'Paul' }, senderSource: 'return-path' });
    expect(senderWithFallback(undefined, headers({ from: 'Nobody', 'return-path': '<>' }))).toEqual({
      from: null,
      senderSource: null,
    });
  });

  it('reads an envelope sender only when it is an address', () => {
    expect(envelopeSender('<Eve@X.test>')).toEqual({ address: 'eve@x.test', name: '' });
    expect(envelopeSender('MAILER-DAEMON')).toBeNull();
    expect(envelopeSender('-')).toBeNull();
    expect(envelopeSender(undefined)).toBeNull();
  });

  it('falls back to the envelope sender only when no header has an address', () => {
    const anonymous = { from: null, senderSource: null } as ParsedMail;
    expect(withEnvelopeSender(anonymous, '<Eve@X.test>')).toMatchObject({
      from: { address: 'eve@x.test', name: '' },
      senderSource: 'envelope',
    });
    expect(withEnvelopeSender(anonymous, 'MAILER-DAEMON')).toBe(anonymous);
    const signed = { from: { address: 'jane@example.com', name: 'Jane' }, senderSource: 'from' } as ParsedMail;
    expect(withEnvelopeSender(signed, 'eve@x.test')).toBe(signed);
  });
});
