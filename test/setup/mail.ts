import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestApp, TEST_INBOUND_TOKEN } from './app';

/** A `.eml` fixture of test/fixtures with `{{NAME}}` placeholders filled in. */
export function fixture(name: string, vars: Record<string, string | number> = {}): Buffer {
  const text = fs.readFileSync(path.resolve('test/fixtures', name), 'utf8');
  return Buffer.from(
    text.replace(/\{\{(\w+)\}\}/g, (_, k: string) => String(vars[k] ?? `{{${k}}}`)),
    'utf8',
  );
}

/** A plain text email. */
export function rawMail(o: {
  from: string;
  subject: string;
  messageId?: string;
  text?: string;
  headers?: Record<string, string>;
}): Buffer {
  return Buffer.from(
    [
      `From: ${o.from}`,
      'To: support@desk.test',
      `Subject: ${o.subject}`,
      'Date: Wed, 25 Nov 2026 09:00:00 +0000',
      ...(o.messageId ? [`Message-ID: <${o.messageId}>`] : []),
      ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      o.text ?? 'Hello.',
      '',
    ].join('\r\n'),
  );
}

/** POST /inbound/mail with a raw email; returns the supertest response. */
export function postRaw(t: TestApp, raw: Buffer, token = TEST_INBOUND_TOKEN) {
  return t
    .http()
    .post('/inbound/mail')
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', 'message/rfc822')
    .send(raw);
}

/** Rows of a query on the test database. */
export function sql<T = Record<string, unknown>>(t: TestApp, query: string, params: unknown[] = []): Promise<T[]> {
  return t.db.dataSource.query(query, params);
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 10000,
  stepMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
