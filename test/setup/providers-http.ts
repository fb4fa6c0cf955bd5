import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestApp } from './app';

/**
 * Sends only the headers of a POST announcing a body of `declaredBytes` (and a few bytes of it),
 * and resolves with the status of the answer: a route that refuses before reading the body answers
 * while the rest of it was never sent.
 */
export async function statusBeforeBody(
  t: TestApp,
  path: string,
  headers: Record<string, string>,
  declaredBytes = 512 * 1024 * 1024,
): Promise<{ status: number; body: string }> {
  const server = t.app.getHttpServer() as http.Server;
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      headers: { ...headers, 'Content-Length': String(declaredBytes) },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
    });
    req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)));
    req.write('x'.repeat(1024));
  });
}

/** A multipart/form-data body of text fields given as bytes (a provider posts fields in their own charsets). */
export function multipartBody(fields: Record<string, string | Buffer>): { body: Buffer; contentType: string } {
  const boundary = '----maildesk-test-boundary';
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`));
    parts.push(Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'));
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}
