import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

/** Swagger UI and ReDoc need their own scripts, inline styles and (ReDoc) a blob: worker; everything else is JSON and gets `default-src 'none'`. */
export const DOCS_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", "'unsafe-inline'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    workerSrc: ["'self'", 'blob:'],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
  },
};
export const API_CSP = { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } };

/** Paths that get the documentation CSP. */
export const DOCS_PATH = /^\/(?:docs|redoc)(?:[/?#-]|$)/;

/**
 * The headers helmet sets for `options`, as a header object (lower-case names), computed once.
 * Helmet's headers are the same for every request when no CSP directive is a function, so they
 * are set from this object instead of running helmet's twelve middlewares on each request.
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  helmet(options)(
    { headers: {}, method: 'GET', url: '/' } as IncomingMessage,
    res as unknown as ServerResponse,
    (e?: unknown) => {
      if (e) throw e instanceof Error ? e : new Error('helmet failed');
      finished = true;
    },
  );
  if (!finished) throw new Error('helmet did not set its headers synchronously');
  return headers;
}

/** The security headers of the API's answers and of the documentation pages. */
export const API_HEADERS = helmetHeaders({ contentSecurityPolicy: API_CSP });
export const DOCS_HEADERS = helmetHeaders({ contentSecurityPolicy: DOCS_CSP });
