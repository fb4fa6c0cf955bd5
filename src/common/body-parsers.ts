import {
  BadRequestException,
  HttpException,
  PayloadTooLargeException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import iconv from 'iconv-lite';
import type { IncomingMessage } from 'node:http';
import * as querystring from 'node:querystring';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';

/** Where each kind of body is accepted and how large it may be (bytes, after decompression). */
export interface BodyLimits {
  /** Route templates (as registered: `/inbound/mail`) whose bodies may be whole emails. */
  webhookRoutes: readonly string[];
  /** Raw MIME (`message/rfc822`, `text/plain`, `application/octet-stream`) on the webhook routes. */
  webhookRaw: number;
  /** JSON on the webhook routes. */
  webhookJson: number;
  /**
   * Route templates whose handlers read their own bodies (the mail providers' webhooks: they
   * authenticate first, then read a bounded body): no parser here reads them.
   */
  ownBodyRoutes?: readonly string[];
  /** JSON elsewhere. */
  json: number;
  /** application/x-www-form-urlencoded everywhere. */
  urlencoded: number;
  /**
   * The webhook's signature check for one call, or undefined when it needs none (no HMAC secret):
   * given the body bytes (as sent, then, when they do not match and the call was compressed, the
   * decompressed ones) it returns why they are refused, or null. It runs before the body is
   * decompressed (bounded) and parsed; a refusal is a 401.
   */
  webhookSignature?: (request: FastifyRequest) => ((body: Buffer) => string | null) | undefined;
  /** Told the size of a webhook body once it is read (after decompression), before it is parsed. */
  webhookBodyRead?: (request: FastifyRequest, bytes: number) => void;
  /**
   * Routes (as registered) whose body is read as bytes whatever its type, up to their limit (413
   * beyond), and handed to the route unparsed: POST /inbound/ses, whose credentials (the SNS
   * signature) are inside the body, so it is bounded before anything reads it.
   */
  bytesRoutes?: Readonly<Record<string, number>>;
}

/**
 * What the parsers have done since the process started: bytes produced by decompression and JSON
 * bodies parsed (count and bytes). Read by tests to show that a refused call cost none of it.
 */
export const bodyParserStats = { inflatedBytes: 0, jsonParses: 0, jsonParsedBytes: 0 };

/** Content types read as raw bytes on the webhook routes. */
export const RAW_MAIL_TYPES = ['message/rfc822', 'text/plain', 'application/octet-stream'];

/** Most form fields taken (as the Express urlencoded parser's parameterLimit). */
const PARAMETER_LIMIT = 1000;

/**
 * The exact body bytes (after Content-Encoding), for the webhook's signature check;
 * `webhookSignatureChecked` once the body parser has verified the webhook's signature.
 */
export type RequestWithRawBody = FastifyRequest & { rawBody?: Buffer; webhookSignatureChecked?: boolean };

const tooLarge = () => new PayloadTooLargeException('request body is larger than the limit');
const notJson = () => new BadRequestException('request body is not valid JSON');

function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  const charset = (m?.[1] ?? m?.[2])?.toLowerCase();
  return charset || undefined;
}

/** Waits until the rest of the request has been read off (so the answer does not race the upload), then fails. */
function drainThenFail(req: IncomingMessage, error: HttpException): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (req.complete || req.destroyed) return reject(error);
    req.once('end', () => reject(error));
    req.once('close', () => reject(error));
    req.resume();
  });
}

/** The request's Content-Encoding, lower case; `identity` when there is none. */
export function contentEncodingOf(req: { headers: IncomingMessage['headers'] }): string {
  const header = req.headers['content-encoding'];
  return (typeof header === 'string' ? header : 'identity').trim().toLowerCase() || 'identity';
}

const ENCODINGS = new Set(['identity', 'gzip', 'x-gzip', 'deflate', 'br']);

/**
 * Reads the whole body of a request into one buffer, up to `limit` bytes: gzip, deflate and br
 * Content-Encodings are decompressed first (the limit counts decompressed bytes), as Express's
 * body parsers do; with `decode` false the bytes are kept as sent (the limit counts them; see
 * inflateBounded). 413 beyond the limit (declared or read), 415 for another encoding, 400 for an
 * aborted upload or a body shorter or longer than its Content-Length.
 *
 * A body with a Content-Length (and no decompression) is copied into one buffer of that size as it
 * arrives, from its first chunk on, instead of keeping the chunks and joining them at the end
 * (which held the body twice). Its memory is an ArrayBuffer of its own (never a SharedArrayBuffer:
 * V8 frees one only when every thread that saw it collected its heap, and the event loop, which
 * allocates little while large mail streams in, went on holding every 20 MB body it had read:
 * bench:hostile, 20 MB mails alone, RSS +1.7 GB in 30 s; docs/performance.md).
 */
export function readBody(req: IncomingMessage, limit: number, decode = true): Promise<Buffer> {
  const encoding = contentEncodingOf(req);
  let inflate: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined;
  let declared: number | undefined;
  if (encoding === 'identity' || (!decode && ENCODINGS.has(encoding))) {
    const header = req.headers['content-length'];
    declared = header === undefined ? undefined : Number(header);
    if (declared !== undefined && declared > limit) return drainThenFail(req, tooLarge());
  } else if (encoding === 'gzip' || encoding === 'x-gzip') {
    inflate = zlib.createGunzip();
  } else if (encoding === 'deflate') {
    inflate = zlib.createInflate();
  } else if (encoding === 'br') {
    inflate = zlib.createBrotliDecompress();
  } else {
    return drainThenFail(req, new UnsupportedMediaTypeException(`unsupported content encoding "${encoding}"`));
  }
  const stream: Readable = inflate ? req.pipe(inflate) : req;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    /** The body's buffer, when its size is known (Content-Length, not decompressed): filled as it arrives. */
    let whole: Buffer | undefined;
    let received = 0;
    let settled = false;
    const cleanup = () => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      req.removeListener('aborted', onAborted);
    };
    const fail = (error: HttpException) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (inflate) {
        req.unpipe(inflate);
        inflate.on('error', () => undefined);
        inflate.destroy();
      }
      drainThenFail(req, error).catch(reject);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (inflate) bodyParserStats.inflatedBytes += chunk.length;
      if (received > limit) return fail(tooLarge());
      if (declared !== undefined && !inflate) {
        if (received > declared) return fail(new BadRequestException('request size did not match content length'));
        whole ??= Buffer.allocUnsafeSlow(declared);
        chunk.copy(whole, received - chunk.length);
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      if (settled) return;
      if (declared !== undefined && received !== declared) {
        return fail(new BadRequestException('request size did not match content length'));
      }
      settled = true;
      cleanup();
      if (whole) return resolve(whole);
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
    };
    const onError = (e: Error) =>
      fail(inflate ? new BadRequestException(e.message) : new BadRequestException('request aborted'));
    const onAborted = () => fail(new BadRequestException('request aborted'));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    req.once('aborted', onAborted);
  });
}

/**
 * A body read as sent (readBody with `decode` false), decompressed for its Content-Encoding into
 * at most `limit` bytes: zlib stops at the limit (`maxOutputLength`), so a decompression bomb costs
 * no more than that; 413 beyond it, 400 for corrupt data, 415 for an unknown encoding.
 */
export function inflateBounded(body: Buffer, encoding: string, limit: number): Promise<Buffer> {
  if (encoding === 'identity') return Promise.resolve(body);
  const done = (resolve: (b: Buffer) => void, reject: (e: unknown) => void) => (error: Error | null, out: Buffer) => {
    if (error) {
      const code = (error as { code?: string }).code;
      return reject(code === 'ERR_BUFFER_TOO_LARGE' ? tooLarge() : new BadRequestException(error.message));
    }
    bodyParserStats.inflatedBytes += out.length;
    resolve(out);
  };
  return new Promise<Buffer>((resolve, reject) => {
    const options = { maxOutputLength: Math.max(1, limit) };
    if (encoding === 'gzip' || encoding === 'x-gzip') zlib.gunzip(body, options, done(resolve, reject));
    else if (encoding === 'deflate') zlib.inflate(body, options, done(resolve, reject));
    else if (encoding === 'br') zlib.brotliDecompress(body, options, done(resolve, reject));
    else reject(new UnsupportedMediaTypeException(`unsupported content encoding "${encoding}"`));
  });
}

/** Text of a body in its declared charset (a byte order mark dropped), 415 for a charset not known. */
function decode(body: Buffer, charset: string): string {
  let text: string;
  if (charset === 'utf-8' || charset === 'utf8') text = body.toString('utf8');
  else if (iconv.encodingExists(charset)) text = iconv.decode(body, charset, { stripBOM: false });
  else throw new UnsupportedMediaTypeException(`unsupported charset "${String(charset).toUpperCase()}"`);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** JSON as Express's strict parser takes it: an object or array; an empty body is `{}`. */
export function parseJsonBody(body: Buffer, charset = 'utf-8'): unknown {
  if (!charset.startsWith('utf-'))
    throw new UnsupportedMediaTypeException(`unsupported charset "${charset.toUpperCase()}"`);
  if (body.length === 0) return {};
  const text = decode(body, charset);
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') throw notJson();
  bodyParserStats.jsonParses++;
  bodyParserStats.jsonParsedBytes += body.length;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw notJson();
  }
}

/** Form fields as Express's non-extended parser takes them (repeated keys become arrays); 413 past 1,000 fields. */
export function parseFormBody(body: Buffer, charset = 'utf-8'): Record<string, string | string[]> {
  if (charset !== 'utf-8' && charset !== 'iso-8859-1') {
    throw new UnsupportedMediaTypeException(`unsupported charset "${charset.toUpperCase()}"`);
  }
  if (body.length === 0) return {};
  const text = decode(body, charset);
  let fields = 1;
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) {
    if (++fields > PARAMETER_LIMIT) throw new PayloadTooLargeException('too many parameters');
  }
  return querystring.parse(text, '&', '=', { maxKeys: 0 }) as Record<string, string | string[]>;
}

/**
 * Replaces Fastify's body parsers with the ones of the API, matching what Express's body-parser
 * did: JSON (a larger limit on the webhook routes), urlencoded forms, raw MIME bytes on the
 * webhook routes only, and every other type (or another type on another route) left unread with
 * no body, so the route answers as it would without one (never 415). The bytes of a parsed body
 * are kept on `request.rawBody`. multipart/form-data is @fastify/multipart's (the upload
 * interceptor reads it).
 */
export function registerBodyParsers(fastify: FastifyInstance, limits: BodyLimits): void {
  const webhook = new Set(limits.webhookRoutes);
  const isWebhook = (request: FastifyRequest) => webhook.has(request.routeOptions.url ?? '');
  const ownBody = new Set(limits.ownBodyRoutes ?? []);
  const readsOwnBody = (request: FastifyRequest) => ownBody.has(request.routeOptions.url ?? '');
  /**
   * A webhook body: read (bounded) and decompressed (bounded), its signature checked (when one is
   * required) over the bytes as sent before anything is decompressed, and over the decompressed
   * bytes only if those do not match; never parsed before it passes.
   */
  const readWebhookBody = async (
    request: RequestWithRawBody,
    payload: IncomingMessage,
    limit: number,
  ) => {
    const verify = limits.webhookSignature?.(request);
    let body: Buffer;
    if (!verify) {
      body = await readBody(payload, limit);
    } else {
      const sent = await readBody(payload, limit, false);
      let problem = verify(sent);
      body = await inflateBounded(sent, contentEncodingOf(request), limit);
      if (problem && body !== sent) problem = verify(body);
      if (problem) throw new UnauthorizedException(problem);
      request.webhookSignatureChecked = true;
    }
    request.rawBody = body;
    limits.webhookBodyRead?.(request, body.length);
    return body;
  };
  const bytesLimit = (request: FastifyRequest): number | undefined => {
    const url = request.routeOptions.url ?? '';
    return limits.bytesRoutes && Object.hasOwn(limits.bytesRoutes, url) ? limits.bytesRoutes[url] : undefined;
  };
  /** The body of a bytes route, read and bounded, never parsed (undefined on any other route). */
  const readBytes = async (request: RequestWithRawBody, payload: IncomingMessage): Promise<Buffer | undefined> => {
    const limit = bytesLimit(request);
    if (limit === undefined) return undefined;
    request.rawBody = await readBody(payload, limit);
    return request.rawBody;
  };
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', async (request: RequestWithRawBody, payload: IncomingMessage) => {
    if (readsOwnBody(request)) return undefined;
    if (bytesLimit(request) !== undefined) return readBytes(request, payload);
    const body = isWebhook(request)
      ? await readWebhookBody(request, payload, limits.webhookJson)
      : await readBody(payload, limits.json);
    request.rawBody = body;
    return parseJsonBody(body, charsetOf(request.headers['content-type']));
  });
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    async (request: RequestWithRawBody, payload: IncomingMessage) => {
      if (readsOwnBody(request)) return undefined;
      if (bytesLimit(request) !== undefined) return readBytes(request, payload);
      const body = await readBody(payload, limits.urlencoded);
      request.rawBody = body;
      return parseFormBody(body, charsetOf(request.headers['content-type']));
    },
  );
  fastify.addContentTypeParser(RAW_MAIL_TYPES, (request: RequestWithRawBody, payload: IncomingMessage, done) => {
    if (bytesLimit(request) !== undefined) return void readBytes(request, payload).then((b) => done(null, b), done);
    if (!isWebhook(request)) return done(null, undefined);
    readWebhookBody(request, payload, limits.webhookRaw).then((body) => done(null, body), done);
  });
  fastify.addContentTypeParser('*', (request: RequestWithRawBody, payload: IncomingMessage, done) => {
    if (bytesLimit(request) !== undefined) return void readBytes(request, payload).then((b) => done(null, b), done);
    done(null, undefined);
  });
}
