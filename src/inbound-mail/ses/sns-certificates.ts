import * as crypto from 'node:crypto';

/** How long a fetch of a certificate or a SubscribeURL may take. */
export const SNS_FETCH_TIMEOUT_MS = 10_000;
/** Largest certificate read (SNS's are about 2 KB). */
const MAX_CERTIFICATE_BYTES = 16 * 1024;
/** Certificates kept (one per SNS region and key rotation; a few in practice). */
const MAX_CACHED = 32;
/** How long a certificate is kept before it is fetched again. */
const CACHE_TTL_MS = 24 * 60 * 60 * 1000;

/** Why a certificate could not be had: `unreachable` may pass (503, SNS retries), `refused` will not (403). */
export class SnsCertificateError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'refused',
  ) {
    super(message);
  }
}

/** GETs `url` without following redirects; the body up to `limit` bytes (more is an error). */
export async function fetchBounded(url: string, limit: number): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(SNS_FETCH_TIMEOUT_MS) });
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > limit) {
        await res.body.cancel().catch(() => undefined);
        throw new Error(`answer larger than ${limit} bytes`);
      }
      chunks.push(Buffer.from(chunk));
    }
  }
  return { status: res.status, body: Buffer.concat(chunks) };
}

/**
 * The signing certificates of SNS, by URL: fetched once (concurrent asks share one fetch), kept
 * for a day, at most MAX_CACHED (the oldest goes first). A failed fetch is not kept. The caller
 * has checked the URL (sns-url-policy.ts); this only fetches what it is given.
 */
export class SnsCertificates {
  private readonly cache = new Map<string, { at: number; certificate: Promise<crypto.X509Certificate> }>();

  constructor(private readonly fetcher: typeof fetchBounded = fetchBounded) {}

  /** The certificate at `url`, valid now; throws SnsCertificateError. */
  async get(url: string, now = Date.now()): Promise<crypto.X509Certificate> {
    const hit = this.cache.get(url);
    if (hit && now - hit.at < CACHE_TTL_MS) {
      const certificate = await hit.certificate;
      return this.current(certificate, now);
    }
    this.cache.delete(url);
    const certificate = this.fetch(url);
    this.cache.set(url, { at: now, certificate });
    while (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    try {
      return this.current(await certificate, now);
    } catch (e) {
      if (this.cache.get(url)?.certificate === certificate) this.cache.delete(url);
      throw e;
    }
  }

  /** Certificates held now (for tests). */
  get size(): number {
    return this.cache.size;
  }

  private async fetch(url: string): Promise<crypto.X509Certificate> {
    let answer: { status: number; body: Buffer };
    try {
      answer = await this.fetcher(url, MAX_CERTIFICATE_BYTES);
    } catch (e) {
      throw new SnsCertificateError(
        `the signing certificate could not be fetched: ${(e as Error).message}`,
        'unreachable',
      );
    }
    if (answer.status >= 500) {
      throw new SnsCertificateError(
        `the signing certificate could not be fetched: HTTP ${answer.status}`,
        'unreachable',
      );
    }
    if (answer.status !== 200) {
      throw new SnsCertificateError(`the signing certificate URL answered HTTP ${answer.status}`, 'refused');
    }
    try {
      return new crypto.X509Certificate(answer.body);
    } catch {
      throw new SnsCertificateError('the signing certificate URL did not serve an X.509 certificate', 'refused');
    }
  }

  private current(certificate: crypto.X509Certificate, now: number): crypto.X509Certificate {
    if (now < Date.parse(certificate.validFrom) || now > Date.parse(certificate.validTo)) {
      throw new SnsCertificateError('the signing certificate is not valid now', 'refused');
    }
    return certificate;
  }
}
