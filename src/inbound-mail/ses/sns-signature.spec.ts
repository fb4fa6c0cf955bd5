import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SnsCertificateError, SnsCertificates } from './sns-certificates';
import { snsCanonicalString, type SnsMessage } from './sns-message';
import { knownSignatureVersion, snsSignatureValid } from './sns-signature';

/** A key and a self-signed certificate for it (openssl). */
function keyAndCertificate(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sns-spec-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=sns.test',
      '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'),
    ], { stdio: 'ignore' }); // prettier-ignore
    return {
      key: fs.readFileSync(path.join(dir, 'k.pem'), 'utf8'),
      cert: fs.readFileSync(path.join(dir, 'c.pem'), 'utf8'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('SNS signatures and certificates', () => {
  const { key, cert } = keyAndCertificate();
  const certificate = new crypto.X509Certificate(cert);
  const base: SnsMessage = {
    Type: 'Notification',
    MessageId: 'm-1',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:t',
    Message: 'hello',
    Timestamp: '2026-12-07T09:00:00.000Z',
    SignatureVersion: '2',
    Signature: '',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/c.pem',
  };
  const signed = (m: SnsMessage, digest: string) => ({
    ...m,
    Signature: crypto.sign(digest, Buffer.from(snsCanonicalString(m)), key).toString('base64'),
  });

  it('verifies version 1 with SHA1 and version 2 with SHA256, and neither with the other digest', () => {
    expect(snsSignatureValid(signed({ ...base, SignatureVersion: '1' }, 'sha1'), certificate)).toBe(true);
    expect(snsSignatureValid(signed({ ...base, SignatureVersion: '2' }, 'sha256'), certificate)).toBe(true);
    expect(snsSignatureValid(signed({ ...base, SignatureVersion: '1' }, 'sha256'), certificate)).toBe(false);
    expect(snsSignatureValid(signed({ ...base, SignatureVersion: '2' }, 'sha1'), certificate)).toBe(false);
  });

  it('refuses a changed field, an unknown version and a signature that is not base64', () => {
    const good = signed(base, 'sha256');
    expect(snsSignatureValid({ ...good, Message: 'hellO' }, certificate)).toBe(false);
    expect(snsSignatureValid({ ...good, SignatureVersion: '3' }, certificate)).toBe(false);
    expect(snsSignatureValid({ ...good, Signature: '***' }, certificate)).toBe(false);
    expect(knownSignatureVersion('3')).toBe(false);
    expect(knownSignatureVersion('toString')).toBe(false);
  });

  it('fetches a certificate once, shares one fetch, keeps no failure and refuses what is not a certificate', async () => {
    const fetched: string[] = [];
    const answers: Record<string, { status: number; body: Buffer } | Error> = {
      'u:ok': { status: 200, body: Buffer.from(cert) },
      'u:404': { status: 404, body: Buffer.alloc(0) },
      'u:503': { status: 503, body: Buffer.alloc(0) },
      'u:junk': { status: 200, body: Buffer.from('not a certificate') },
      'u:down': new Error('ECONNREFUSED'),
    };
    const certificates = new SnsCertificates(async (url) => {
      fetched.push(url);
      const a = answers[url];
      if (a instanceof Error) throw a;
      return a;
    });
    const [a, b] = await Promise.all([certificates.get('u:ok'), certificates.get('u:ok')]);
    expect(a.fingerprint256).toBe(certificate.fingerprint256);
    expect(b).toBe(a);
    await certificates.get('u:ok');
    expect(fetched).toEqual(['u:ok']);
    for (const [url, kind] of [
      ['u:404', 'refused'],
      ['u:junk', 'refused'],
      ['u:503', 'unreachable'],
      ['u:down', 'unreachable'],
    ] as const) {
      const e = await certificates.get(url).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(SnsCertificateError);
      expect((e as SnsCertificateError).kind).toBe(kind);
    }
    expect(certificates.size).toBe(1);
    const expired = await certificates.get('u:ok', Date.now() + 3 * 86_400_000).catch((err: unknown) => err);
    expect((expired as SnsCertificateError).kind).toBe('refused');
  });

  it('keeps at most 32 certificates', async () => {
    const certificates = new SnsCertificates(async () => ({ status: 200, body: Buffer.from(cert) }));
    for (let i = 0; i < 40; i++) await certificates.get(`u:${i}`);
    expect(certificates.size).toBe(32);
  });
});
