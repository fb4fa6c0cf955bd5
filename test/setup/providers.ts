import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The Mailgun signing key the provider tests configure (MAILGUN_SIGNING_KEY). */
export const TEST_MAILGUN_KEY = 'test-mailgun-signing-key-0123456789';

/** A provider payload of test/fixtures/providers with `{{NAME}}` filled in (its `_source` note dropped). */
export function providerFixture(name: string, vars: Record<string, string | number>): Record<string, unknown> {
  const text = fs.readFileSync(path.resolve('test/fixtures/providers', name), 'utf8');
  const filled = text.replace(/\{\{(\w+)\}\}/g, (_, k: string) => String(vars[k] ?? `{{${k}}}`));
  const { _source, ...payload } = JSON.parse(filled) as Record<string, unknown>;
  void _source;
  return payload;
}

/** Mailgun's signature fields for now (or `timestamp`), signed with `key`. */
export function mailgunSigned(
  key = TEST_MAILGUN_KEY,
  timestamp = Math.floor(Date.now() / 1000),
  token = crypto.randomBytes(25).toString('hex'),
): { timestamp: string; token: string; signature: string } {
  const signature = crypto.createHmac('sha256', key).update(`${timestamp}${token}`).digest('hex');
  return { timestamp: String(timestamp), token, signature };
}

/** A 1x1 PNG. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
