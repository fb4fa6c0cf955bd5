import type { Oauth2Settings } from '../mailbox';

/** Where a mailbox's OAuth2 provider is and what MailDesk asks it for. */
export interface Oauth2Endpoints {
  authorizeUrl: string;
  tokenUrl: string;
  scopes: string[];
  /** Extra parameters of the authorization request (e.g. Google's offline access). */
  authorizeParams: Record<string, string>;
}

/** Google: full IMAP/SMTP access; `access_type=offline&prompt=consent` so a refresh token is issued every time. */
export const GOOGLE = {
  authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenUrl: 'https://oauth2.googleapis.com/token',
  scopes: ['https://mail.google.com/'],
  authorizeParams: { access_type: 'offline', prompt: 'consent' },
} as const;

/** Microsoft 365 (Entra ID v2 endpoints): IMAP and SMTP AUTH; `offline_access` brings the refresh token. */
export const MICROSOFT = {
  scopes: [
    'https://outlook.office.com/IMAP.AccessAsUser.All',
    'https://outlook.office.com/SMTP.Send',
    'offline_access',
  ],
  /** Used when a mailbox names no tenant: work and school accounts of any directory. */
  defaultTenant: 'organizations',
} as const;

/** A tenant as Microsoft accepts it in a URL path: a GUID, a domain, `common`, `organizations`, `consumers`. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,254}$/;

/**
 * The endpoints and scopes of a mailbox's provider: the google and microsoft presets (their
 * scopes unless the mailbox overrides them), or the generic provider's own URLs. Throws an Error
 * saying what is missing for settings that cannot work (checked again here because a stored row
 * may predate a rule).
 */
export function providerEndpoints(settings: Oauth2Settings): Oauth2Endpoints {
  const scopes = settings.scopes?.length ? [...settings.scopes] : undefined;
  switch (settings.provider) {
    case 'google':
      return {
        authorizeUrl: GOOGLE.authorizeUrl,
        tokenUrl: GOOGLE.tokenUrl,
        scopes: scopes ?? [...GOOGLE.scopes],
        authorizeParams: { ...GOOGLE.authorizeParams },
      };
    case 'microsoft': {
      const tenant = settings.tenant || MICROSOFT.defaultTenant;
      if (!TENANT.test(tenant))
        throw new Error('oauth2.tenant must be a tenant id, a domain, or common / organizations');
      const base = `https://login.microsoftonline.com/${encodeURIComponent(tenant)}/oauth2/v2.0`;
      return {
        authorizeUrl: `${base}/authorize`,
        tokenUrl: `${base}/token`,
        scopes: scopes ?? [...MICROSOFT.scopes],
        authorizeParams: {},
      };
    }
    case 'generic': {
      if (!settings.authorizeUrl || !settings.tokenUrl) {
        throw new Error('a generic OAuth2 provider needs oauth2.authorizeUrl and oauth2.tokenUrl');
      }
      return {
        authorizeUrl: settings.authorizeUrl,
        tokenUrl: settings.tokenUrl,
        scopes: scopes ?? [],
        authorizeParams: {},
      };
    }
    default:
      throw new Error(`unknown OAuth2 provider ${String((settings as { provider: unknown }).provider)}`);
  }
}

/**
 * The URL of the provider's consent page for one authorization: code flow with PKCE (S256),
 * `state`, and `login_hint` (the mailbox's user, so the admin signs in to the right account).
 */
export function authorizationUrl(
  endpoints: Oauth2Endpoints,
  p: { clientId: string; redirectUri: string; state: string; codeChallenge: string; loginHint?: string | null },
): string {
  const url = new URL(endpoints.authorizeUrl);
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    state: p.state,
    code_challenge: p.codeChallenge,
    code_challenge_method: 'S256',
    ...(endpoints.scopes.length ? { scope: endpoints.scopes.join(' ') } : {}),
    ...(p.loginHint ? { login_hint: p.loginHint } : {}),
    ...endpoints.authorizeParams,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}
