import { OAUTH2_TEST_USER, startOauth2Server, type TestOauth2Server } from '../setup/oauth2-server';

/** The test authorization server itself (test/setup/oauth2-server.ts): the parts other specs rely on. */
describe('the test OAuth2 authorization server (oidc-provider)', () => {
  let provider: TestOauth2Server;

  beforeAll(async () => {
    provider = await startOauth2Server();
  });
  afterAll(async () => {
    await provider.close();
  });

  it('issues access and refresh tokens through its own login and consent pages', async () => {
    const tokens = await provider.tokens();
    expect(tokens.accessToken).toEqual(expect.any(String));
    expect(tokens.refreshToken).toEqual(expect.any(String));
    const info = await provider.introspect(tokens.accessToken);
    expect(info).toMatchObject({ active: true, sub: OAUTH2_TEST_USER });
  });

  it('rotates the refresh token and revokes the whole grant', async () => {
    const first = await provider.tokens();
    const second = await provider.refresh(first.refreshToken!);
    expect(second.refreshToken).toBeDefined();
    expect(second.refreshToken).not.toBe(first.refreshToken);
    await expect(provider.refresh(first.refreshToken!)).rejects.toThrow(/invalid_grant/);
    const third = await provider.tokens();
    expect(await provider.revokeAccount()).toBeGreaterThanOrEqual(1);
    await expect(provider.refresh(third.refreshToken!)).rejects.toThrow(/invalid_grant/);
    expect(await provider.introspect(third.accessToken)).toMatchObject({ active: false });
  });

  it('answers nothing while stopped and again after start', async () => {
    const tokens = await provider.tokens();
    await provider.stop();
    await expect(provider.introspect(tokens.accessToken)).rejects.toThrow();
    await provider.start();
    expect(await provider.introspect(tokens.accessToken)).toMatchObject({ active: true });
  });
});
