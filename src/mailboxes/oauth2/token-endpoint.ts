/**
 * The provider's token endpoint (RFC 6749 §4.1.3, §6): a form POST with the client's id and secret
 * in the body (`client_secret_post`, which Google, Microsoft and most providers take). No OAuth
 * client library: fetch and the few lines below. Nothing here logs, and no error message holds a
 * token, a code, a verifier or a secret: only the provider's `error` and `error_description`.
 */

/** What the token endpoint gave. */
export interface TokenSet {
  accessToken: string;
  /** A new refresh token (the first one, or a rotated one); undefined when the provider kept the old. */
  refreshToken?: string;
  /** When the access token expires. */
  expiresAt: Date;
}

/** The outcome of one call: tokens, or why not and whether trying again can help. */
export type TokenResult =
  | { ok: true; tokens: TokenSet }
  | {
      ok: false;
      /** For good: the grant or the client is refused (re-authorization or new client settings needed). */
      permanent: boolean;
      /** The provider's `error` code, or `network`, `timeout`, `http_<status>`, `bad_response`. */
      error: string;
      /** A short, token-free description for logs and the mailbox's last error. */
      message: string;
    };

/** Errors after which the same request can never succeed (RFC 6749 §5.2). */
export const PERMANENT_ERRORS = new Set([
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
]);

/** Lifetime assumed when a provider says none (RFC 6749 makes `expires_in` optional). */
const DEFAULT_LIFETIME_S = 3600;
/** The longest description kept from a provider's answer. */
const MAX_DESCRIPTION = 300;

/** How to reach the endpoint. */
export interface TokenEndpointOptions {
  timeoutMs: number;
  /** Replaceable in unit tests (a real server is used elsewhere). */
  fetch?: typeof fetch;
  now?: () => number;
}

/** Exchanges an authorization code (with its PKCE verifier) for tokens. */
export function exchangeCode(
  tokenUrl: string,
  p: { code: string; redirectUri: string; codeVerifier: string; clientId: string; clientSecret: string },
  options: TokenEndpointOptions,
): Promise<TokenResult> {
  return callTokenEndpoint(
    tokenUrl,
    {
      grant_type: 'authorization_code',
      code: p.code,
      redirect_uri: p.redirectUri,
      code_verifier: p.codeVerifier,
      client_id: p.clientId,
      client_secret: p.clientSecret,
    },
    options,
  );
}

/** Exchanges a refresh token for a new access token (and maybe a rotated refresh token). */
export function refreshAccessToken(
  tokenUrl: string,
  p: { refreshToken: string; clientId: string; clientSecret: string },
  options: TokenEndpointOptions,
): Promise<TokenResult> {
  return callTokenEndpoint(
    tokenUrl,
    {
      grant_type: 'refresh_token',
      refresh_token: p.refreshToken,
      client_id: p.clientId,
      client_secret: p.clientSecret,
    },
    options,
  );
}

/** One POST to the token endpoint, its answer classified. Never throws. */
export async function callTokenEndpoint(
  tokenUrl: string,
  form: Record<string, string>,
  options: TokenEndpointOptions,
): Promise<TokenResult> {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  let res: Response;
  let text: string;
  try {
    res = await doFetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    text = await res.text();
  } catch (e) {
    const timeout = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError';
    return timeout
      ? {
          ok: false,
          permanent: false,
          error: 'timeout',
          message: `the token endpoint did not answer within ${options.timeoutMs} ms`,
        }
      : { ok: false, permanent: false, error: 'network', message: `the token endpoint is unreachable (${causeOf(e)})` };
  }
  const body = parseJson(text);
  if (res.ok) {
    const access = body?.access_token;
    if (typeof access !== 'string' || !access) {
      return {
        ok: false,
        permanent: false,
        error: 'bad_response',
        message: `the token endpoint answered ${res.status} without an access token`,
      };
    }
    const lifetime = Number(body?.expires_in);
    const seconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : DEFAULT_LIFETIME_S;
    const refresh = body?.refresh_token;
    return {
      ok: true,
      tokens: {
        accessToken: access,
        refreshToken: typeof refresh === 'string' && refresh ? refresh : undefined,
        expiresAt: new Date(now() + seconds * 1000),
      },
    };
  }
  const code = typeof body?.error === 'string' ? body.error : `http_${res.status}`;
  const description =
    typeof body?.error_description === 'string' ? body.error_description.slice(0, MAX_DESCRIPTION) : '';
  // 5xx and 429 are the provider's trouble whatever they say; a 4xx is for good only with a known code.
  const permanent = res.status >= 400 && res.status < 500 && res.status !== 429 && PERMANENT_ERRORS.has(code);
  return {
    ok: false,
    permanent,
    error: code,
    message: `the token endpoint answered ${res.status} ${code}${description ? `: ${description}` : ''}`,
  };
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The error code of a failed fetch (ECONNREFUSED, ENOTFOUND...), not its message (which may quote the URL). */
function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string } }).cause;
  return cause?.code ?? (e as Error).name ?? 'error';
}
