import { authorizationUrl, providerEndpoints } from './oauth2-providers';
import { hashState, newPkce, newState, pkceChallenge } from './pkce';

describe('OAuth2 provider presets', () => {
  it('gives Google its endpoints, the mail scope and offline access with consent', () => {
    const e = providerEndpoints({ provider: 'google', clientId: 'id' });
    expect(e).toEqual({
      authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
      tokenUrl: 'https://oauth2.googleapis.com/token',
      scopes: ['https://mail.google.com/'],
      authorizeParams: { access_type: 'offline', prompt: 'consent' },
    });
  });

  it("puts Microsoft's tenant in the URLs and asks for IMAP, SMTP and offline access", () => {
    const e = providerEndpoints({ provider: 'microsoft', clientId: 'id', tenant: 'contoso.onmicrosoft.com' });
    expect(e.authorizeUrl).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize');
    expect(e.tokenUrl).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token');
    expect(e.scopes).toEqual([
      'https://outlook.office.com/IMAP.AccessAsUser.All',
      'https://outlook.office.com/SMTP.Send',
      'offline_access',
    ]);
    expect(providerEndpoints({ provider: 'microsoft', clientId: 'id' }).tokenUrl).toContain('/organizations/');
    expect(() => providerEndpoints({ provider: 'microsoft', clientId: 'id', tenant: '../evil' })).toThrow(/tenant/);
  });

  it('takes a generic provider as given, and refuses one without URLs', () => {
    const e = providerEndpoints({
      provider: 'generic',
      clientId: 'id',
      authorizeUrl: 'https://idp.test/auth',
      tokenUrl: 'https://idp.test/token',
      scopes: ['openid', 'offline_access'],
    });
    expect(e).toEqual({
      authorizeUrl: 'https://idp.test/auth',
      tokenUrl: 'https://idp.test/token',
      scopes: ['openid', 'offline_access'],
      authorizeParams: {},
    });
    expect(() => providerEndpoints({ provider: 'generic', clientId: 'id' })).toThrow(
      /authorizeUrl and oauth2.tokenUrl/,
    );
  });

  it('builds the consent URL with PKCE S256, the state and a login hint', () => {
    const url = new URL(
      authorizationUrl(providerEndpoints({ provider: 'google', clientId: 'client-1' }), {
        clientId: 'client-1',
        redirectUri: 'https://desk.test/oauth2/callback',
        state: 'st',
        codeChallenge: 'ch',
        loginHint: 'support@example.com',
      }),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client-1',
      redirect_uri: 'https://desk.test/oauth2/callback',
      state: 'st',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
      scope: 'https://mail.google.com/',
      login_hint: 'support@example.com',
      access_type: 'offline',
      prompt: 'consent',
    });
  });
});

describe('PKCE and state', () => {
  it('derives the S256 challenge of RFC 7636 appendix B', () => {
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes fresh verifiers and states, and stores states only hashed', () => {
    const a = newPkce();
    expect(a.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.challenge).toBe(pkceChallenge(a.verifier));
    expect(newPkce().verifier).not.toBe(a.verifier);
    const state = newState();
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hashState(state)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashState(state)).not.toContain(state);
  });
});
