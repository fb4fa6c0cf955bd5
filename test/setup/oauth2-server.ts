/**
 * A real OAuth2 authorization server for tests: `oidc-provider` (a complete, certified
 * implementation, not a mock) on 127.0.0.1 and a random port, in-process, state in memory.
 *
 * What it serves (issuer `http://127.0.0.1:PORT`):
 * - `/auth` (authorization, code flow, PKCE S256 required), `/token`, `/token/introspection`,
 *   `/token/revocation`, and its own login and consent pages (`devInteractions`: any login, any
 *   password; the login becomes the token's `sub`, e.g. a mailbox user support@example.test).
 * - two clients: `maildesk` (confidential, `client_secret_post`, authorization_code +
 *   refresh_token, redirect URIs as given) and `dovecot` (introspection only, no grants), the one
 *   Dovecot's `oauth2` passdb (test/setup/dovecot.ts, `oauth2` option) and the XOAUTH2 smtp-server
 *   (test/setup/xoauth2-smtp.ts) validate tokens with.
 * - a refresh token with every code exchange (issueRefreshToken), rotated on every refresh by
 *   default (as Microsoft does), so the app must store the new one.
 *
 * Exported for the specs and for the lead's end-to-end assembly:
 * - `startOauth2Server(options)` -> TestOauth2Server: endpoints, client credentials,
 *   `authorize(url, login)` (drives the provider's own pages over HTTP, cookies kept, and returns
 *   the redirect back to the client: `?code&state` or `?error`), `tokens(login)` (a whole
 *   authorization-code + PKCE exchange, for tests that only need a token), `refresh`,
 *   `introspect`, `revoke(token)` (the revocation endpoint: a refresh token revokes its whole
 *   grant), `revokeAccount(login)` (every grant of that login, through the revocation endpoint),
 *   `setAccessTokenTtl(seconds)`, `stop()` / `start()` (an outage on the same port), `close()`.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The mailbox user the tests log in as at the provider (the `sub` of its tokens). */
export const OAUTH2_TEST_USER = 'support@example.test';

/** How a test starts the server. */
export interface Oauth2ServerOptions {
  /** Where the `maildesk` client may be sent back to (exact match, as the provider checks). */
  redirectUris?: string[];
  /** Access token lifetime in seconds (default 3600); changeable later with setAccessTokenTtl. */
  accessTokenTtl?: number;
  /** Rotate the refresh token on every refresh (default true). */
  rotateRefreshToken?: boolean;
  /** Listen on this port (default: a free one). */
  port?: number;
}

/** The token endpoint's answer. */
export interface TestTokens {
  accessToken: string;
  refreshToken?: string;
  expiresIn: number;
  scope?: string;
}

/** A running test authorization server. */
export interface TestOauth2Server {
  issuer: string;
  port: number;
  authorizeUrl: string;
  tokenUrl: string;
  introspectionUrl: string;
  revocationUrl: string;
  /** MailDesk's client at this provider. */
  client: { clientId: string; clientSecret: string; redirectUris: string[] };
  /** The client resource servers (Dovecot, the XOAUTH2 smtp-server) introspect tokens with. */
  introspectionClient: { clientId: string; clientSecret: string };
  /** Scopes MailDesk asks for here (a `generic` provider's `scopes`). */
  scopes: string[];
  /**
   * Drives the authorization-code flow from `authorizeUrl` (the URL MailDesk redirected the admin
   * to) through the provider's own login and consent pages, as a browser would (redirects
   * followed, cookies kept, forms submitted), and returns the final redirect to the client's
   * redirect URI (with `code` and `state`, or `error`) without requesting it.
   */
  authorize(authorizeUrl: string, login?: string): Promise<URL>;
  /** A whole authorization-code + PKCE exchange for `login` (no MailDesk involved). */
  tokens(login?: string): Promise<TestTokens>;
  /** Exchanges a refresh token (as the `maildesk` client); throws with the provider's error. */
  refresh(refreshToken: string): Promise<TestTokens>;
  /** The introspection endpoint's answer for a token (as the `dovecot` client). */
  introspect(token: string): Promise<{ active: boolean; sub?: string; [k: string]: unknown }>;
  /** The revocation endpoint (as `maildesk`): a refresh token takes its whole grant with it. */
  revoke(token: string, hint?: 'access_token' | 'refresh_token'): Promise<void>;
  /** Revokes every grant `login` gave (through the revocation endpoint); returns how many. */
  revokeAccount(login?: string): Promise<number>;
  /** Access tokens issued from now on live this many seconds. */
  setAccessTokenTtl(seconds: number): void;
  /** How many refresh_token grants the token endpoint answered with success. */
  readonly refreshCount: number;
  /** Stops listening (connections dropped); the provider's state is kept for start(). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

/** A random URL-safe secret. */
function secret(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/** PKCE: a verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

/** A tiny cookie jar: name -> value (the provider's cookie names are distinct enough). */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** The first form of an HTML page: its action and its inputs' names and values. */
function parseForm(html: string): { action: string; fields: Record<string, string> } | null {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return null;
  const fields: Record<string, string> = {};
  for (const input of form[2].matchAll(/<input([^>]*)>/gi)) {
    const name = /name="([^"]*)"/i.exec(input[1])?.[1];
    if (name) fields[name] = /value="([^"]*)"/i.exec(input[1])?.[1] ?? '';
  }
  return { action: form[1].replace(/&amp;/g, '&'), fields };
}

/** Starts oidc-provider; see the top of this file. */
export async function startOauth2Server(options: Oauth2ServerOptions = {}): Promise<TestOauth2Server> {
  // oidc-provider 9 asks for Node 22 (a warning only: it passes these tests on Node 20.19+).
  const { default: Provider } = await quietly(() => import('oidc-provider'));
  let accessTokenTtl = options.accessTokenTtl ?? 3600;
  const rotate = options.rotateRefreshToken ?? true;
  const redirectUris = options.redirectUris ?? ['http://127.0.0.1/oauth2/callback'];
  const client = { clientId: 'maildesk', clientSecret: secret(), redirectUris };
  const introspectionClient = { clientId: 'dovecot', clientSecret: secret() };
  // Refresh tokens by login, as the provider saved them (an opaque token's value is its jti).
  const refreshTokens = new Map<string, Set<string>>();
  let refreshCount = 0;

  // Bind first to learn the port: the issuer must name it.
  const server = http.createServer();
  await listen(server, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  // One RSA signing key (the provider signs ID tokens; without one it warns about its own dev keys).
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' };
  const provider = quietly(
    () =>
      new Provider(issuer, {
        clients: [
          {
            client_id: client.clientId,
            client_secret: client.clientSecret,
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            redirect_uris: redirectUris,
            token_endpoint_auth_method: 'client_secret_post',
          },
          {
            client_id: introspectionClient.clientId,
            client_secret: introspectionClient.clientSecret,
            grant_types: [],
            response_types: [],
            redirect_uris: [],
            token_endpoint_auth_method: 'client_secret_post',
          },
        ],
        cookies: { keys: [secret()] },
        features: {
          devInteractions: { enabled: true },
          // Resource servers introspect any token; a client its own ones.
          introspection: {
            enabled: true,
            allowedPolicy: async (_ctx, caller, token) =>
              caller.clientId === introspectionClient.clientId || caller.clientId === token.clientId,
          },
          revocation: {
            enabled: true,
            allowedPolicy: async (_ctx, caller, token) => caller.clientId === token.clientId,
          },
        },
        jwks: { keys: [jwk as never] },
        pkce: { required: () => true },
        scopes: ['openid', 'offline_access', 'email'],
        claims: { openid: ['sub'], email: ['email'] },
        async findAccount(_ctx, sub) {
          return { accountId: sub, claims: async () => ({ sub, email: sub }) };
        },
        issueRefreshToken: async (_ctx, c) => c.grantTypeAllowed('refresh_token'),
        rotateRefreshToken: () => rotate,
        ttl: {
          AccessToken: () => accessTokenTtl,
          AuthorizationCode: 60,
          RefreshToken: 14 * 24 * 3600,
          Grant: 14 * 24 * 3600,
          Session: 3600,
          Interaction: 600,
          IdToken: 3600,
        },
      }),
  );
  provider.on('refresh_token.saved', (token) => {
    const login = token.accountId;
    if (!refreshTokens.has(login)) refreshTokens.set(login, new Set());
    refreshTokens.get(login)!.add(token.jti);
  });
  provider.on('grant.success', (ctx) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') refreshCount++;
  });
  // The provider logs every client error through `server_error` and friends: keep tests quiet.
  provider.on('server_error', () => undefined);
  const callback = provider.callback();
  server.on('request', (req, res) => void callback(req, res));

  const authorizeUrl = `${issuer}/auth`;
  const tokenUrl = `${issuer}/token`;
  const introspectionUrl = `${issuer}/token/introspection`;
  const revocationUrl = `${issuer}/token/revocation`;

  async function post(url: string, form: Record<string, string>): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  async function tokenCall(form: Record<string, string>): Promise<TestTokens> {
    const res = await post(tokenUrl, { ...form, client_id: client.clientId, client_secret: client.clientSecret });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok)
      throw new Error(`token endpoint: ${res.status} ${String(body.error)} ${String(body.error_description)}`);
    return {
      accessToken: body.access_token as string,
      refreshToken: body.refresh_token as string | undefined,
      expiresIn: body.expires_in as number,
      scope: body.scope as string | undefined,
    };
  }

  async function authorize(url: string, login = OAUTH2_TEST_USER): Promise<URL> {
    const jar = new CookieJar();
    let next: { url: string; method: 'GET' | 'POST'; body?: string } = { url, method: 'GET' };
    for (let step = 0; step < 20; step++) {
      const res = await fetch(next.url, {
        method: next.method,
        redirect: 'manual',
        headers: {
          cookie: jar.header(),
          ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: next.body,
      });
      jar.take(res);
      if (res.status >= 300 && res.status < 400) {
        await res.arrayBuffer();
        const location = new URL(res.headers.get('location') ?? '', next.url);
        if (location.origin !== issuer) return location;
        next = { url: location.toString(), method: 'GET' };
        continue;
      }
      const html = await res.text();
      const form = res.status === 200 ? parseForm(html) : null;
      if (!form) throw new Error(`authorization flow stopped at ${next.url}: ${res.status} ${html.slice(0, 500)}`);
      const fields = { ...form.fields };
      if ('login' in fields) fields.login = login;
      if ('password' in fields) fields.password = 'any-password';
      next = {
        url: new URL(form.action, next.url).toString(),
        method: 'POST',
        body: new URLSearchParams(fields).toString(),
      };
    }
    throw new Error('authorization flow: too many steps');
  }

  let listening = true;
  const t: TestOauth2Server = {
    issuer,
    port,
    authorizeUrl,
    tokenUrl,
    introspectionUrl,
    revocationUrl,
    client,
    introspectionClient,
    scopes: ['openid', 'offline_access'],
    authorize,
    async tokens(login = OAUTH2_TEST_USER) {
      const { verifier, challenge } = pkcePair();
      const state = secret();
      const start = new URL(authorizeUrl);
      start.search = new URLSearchParams({
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: redirectUris[0],
        scope: t.scopes.join(' '),
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      const back = await authorize(start.toString(), login);
      const code = back.searchParams.get('code');
      if (!code || back.searchParams.get('state') !== state) throw new Error(`no code: ${back.toString()}`);
      return tokenCall({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUris[0],
        code_verifier: verifier,
      });
    },
    refresh(refreshToken) {
      return tokenCall({ grant_type: 'refresh_token', refresh_token: refreshToken });
    },
    async introspect(token) {
      const res = await post(introspectionUrl, {
        token,
        client_id: introspectionClient.clientId,
        client_secret: introspectionClient.clientSecret,
      });
      return (await res.json()) as { active: boolean; sub?: string };
    },
    async revoke(token, hint) {
      const res = await post(revocationUrl, {
        token,
        ...(hint ? { token_type_hint: hint } : {}),
        client_id: client.clientId,
        client_secret: client.clientSecret,
      });
      if (!res.ok) throw new Error(`revocation endpoint: ${res.status} ${await res.text()}`);
    },
    async revokeAccount(login = OAUTH2_TEST_USER) {
      const tokens = [...(refreshTokens.get(login) ?? [])];
      const grants = new Set<string>();
      for (const value of tokens) {
        const token = await provider.RefreshToken.find(value, { ignoreExpiration: true });
        if (!token || grants.has(token.grantId!)) continue;
        grants.add(token.grantId!);
        await t.revoke(value, 'refresh_token');
      }
      refreshTokens.delete(login);
      return grants.size;
    },
    setAccessTokenTtl(seconds) {
      accessTokenTtl = seconds;
    },
    get refreshCount() {
      return refreshCount;
    },
    async stop() {
      if (!listening) return;
      listening = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
    async start() {
      if (listening) return;
      await listen(server, port);
      listening = true;
    },
    close() {
      return t.stop();
    },
  };
  return t;
}

/**
 * Runs `build` without oidc-provider's warnings that devInteractions and the in-memory store are
 * for development (they are the point here) and that it prefers Node 22.
 */
function quietly<T>(build: () => T): T {
  const warn = console.warn;
  const restore = () => (console.warn = warn);
  console.warn = (...args: unknown[]) => {
    if (!/devInteractions|in-memory adapter|Unsupported runtime/.test(String(args[0]))) warn(...args);
  };
  try {
    const result = build();
    if (result instanceof Promise) {
      void result.finally(restore).catch(() => undefined);
      return result;
    }
    restore();
    return result;
  } catch (e) {
    restore();
    throw e;
  }
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
