import { BadRequestException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { readBody } from './body-parsers';

/** A request whose body is `chunks`, with the given headers. */
function request(chunks: Buffer[], headers: Record<string, string>): IncomingMessage {
  const stream = new PassThrough() as unknown as IncomingMessage & PassThrough;
  Object.assign(stream, { headers, complete: false });
  setImmediate(() => {
    for (const c of chunks) stream.write(c);
    stream.end();
    Object.assign(stream, { complete: true });
  });
  return stream;
}

describe('readBody', () => {
  const chunks = [Buffer.from('From: a@b.test\r\n'), Buffer.from('\r\n'), Buffer.from('body\r\n')];
  const whole = Buffer.concat(chunks);

  it('reads a body with a Content-Length into one buffer of that size, its own memory (never shared)', async () => {
    const body = await readBody(request(chunks, { 'content-length': String(whole.length) }), 1024);
    expect(body.equals(whole)).toBe(true);
    // A SharedArrayBuffer is freed only once every thread that saw it collected its heap (bench:hostile).
    expect(body.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(body.byteLength).toBe(body.buffer.byteLength);
  });

  it('reads a body without a Content-Length (chunked) the same', async () => {
    const plain = await readBody(request(chunks, {}), 1024);
    expect(plain.equals(whole)).toBe(true);
    expect(plain.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it('refuses a body longer or shorter than its Content-Length (400)', async () => {
    await expect(
      readBody(request(chunks, { 'content-length': String(whole.length - 3) }), 1024),
    ).rejects.toBeInstanceOf(BadRequestException);
    await expect(
      readBody(request(chunks, { 'content-length': String(whole.length + 3) }), 1024),
    ).rejects.toBeInstanceOf(BadRequestException);
  });
});
