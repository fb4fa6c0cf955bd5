import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** A test signing key and its self-signed certificate (openssl), as SNS's SigningCertURL serves one. */
export interface SnsTestKey {
  keyPem: string;
  certPem: string;
}

/** A 2048-bit RSA key and a certificate for it, valid for two days, made with openssl. */
export function makeSnsKey(commonName = 'sns.us-east-1.amazonaws.com'): SnsTestKey {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-sns-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
      ],
      { stdio: 'ignore' },
    );
    return {
      keyPem: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      certPem: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An SNS message before it is signed (the fields SNS sets but Signature). */
export type UnsignedSns = Record<string, string> & { Type: string };

/**
 * Signs an SNS message as SNS does (written from AWS's documentation, independently of src/): the
 * canonical string is "Name\nvalue\n" for each signed field in order (Notification: Message,
 * MessageId, Subject when present, Timestamp, TopicArn, Type; the confirmations: Message,
 * MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type), signed with SHA1withRSA
 * (SignatureVersion 1) or SHA256withRSA (2), base64.
 */
export function signSns(m: UnsignedSns, keyPem: string, version: '1' | '2' = '2'): UnsignedSns {
  const fields =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const canonical = fields
    .filter((f) => m[f] !== undefined)
    .map((f) => `${f}\n${m[f]}\n`)
    .join('');
  const signer = crypto.createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  signer.update(canonical, 'utf8');
  return { ...m, SignatureVersion: version, Signature: signer.sign(keyPem, 'base64') };
}

/** A local stand-in for SNS's HTTP side: serves the certificate and records every call (a confirmation is a GET of /confirm). */
export interface SnsTestServer {
  /** `http://127.0.0.1:<port>/` */
  base: string;
  certUrl: string;
  calls: string[];
  close(): Promise<void>;
}

export async function startSnsServer(certPem: string): Promise<SnsTestServer> {
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    calls.push(req.url ?? '');
    if (req.url === '/SimpleNotificationService-test.pem') {
      res.writeHead(200, { 'Content-Type': 'application/x-pem-file' }).end(certPem);
    } else if (req.url?.startsWith('/confirm?')) {
      res
        .writeHead(200, { 'Content-Type': 'text/xml' })
        .end(
          '<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:us-east-1:123456789012:t:1</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>',
        );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    base,
    certUrl: `${base}SimpleNotificationService-test.pem`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
