import { loadConfig } from '../../src/config/config';
import { createTestApp, TEST_ADMIN, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';

function expect429(res: { status: number; headers: Record<string, string>; body: unknown }): void {
  expect(res.status).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests', message: expect.any(String) });
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

describe('rate limits: login per IP and per account, webhook per IP', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '5', LOGIN_ACCOUNT_RATE_LIMIT: '3', WEBHOOK_RATE_LIMIT: '4' });
  });

  afterAll(async () => {
    await t?.close();
  });

  const login = (email: string, password: string, ip?: string) => {
    const req = t.http().post('/auth/login');
    return (ip ? req.set('X-Forwarded-For', ip) : req).send({ email, password });
  };

  it('pauses an account for the address that failed LOGIN_ACCOUNT_RATE_LIMIT times, even for the right password', async () => {
    const admin = await t.adminToken();
    await t
      .http()
      .post('/operators')
      .set('Authorization', `Bearer ${admin}`)
      .send({ name: 'Victim', email: 'victim@desk.test', password: 'victim-password-1', role: 'operator' });
    for (let i = 0; i < 3; i++) expect((await login('Victim@desk.test', `guess-${i}`)).status).toBe(401);
    const right = await login('victim@desk.test', 'victim-password-1');
    expect429(right);
    expect(Number(right.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
  });

  it('limits login attempts per client IP and ignores X-Forwarded-For without TRUST_PROXY', async () => {
    // Calls so far in this window: 1 (adminToken) + 4; a spoofed X-Forwarded-For changes nothing.
    const res = await login(TEST_ADMIN.email, TEST_ADMIN.password, '203.0.113.9');
    expect429(res);
    expect(res.body.message).toMatch(/login attempts/);
  });

  it('limits webhook calls per client IP, counting calls with a wrong token too', async () => {
    const post = (token: string) =>
      t.http().post('/inbound/mail').set('Authorization', `Bearer ${token}`).send({ raw: '' });
    for (let i = 0; i < 2; i++) expect((await post('wrong-token-0123456789')).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await post(TEST_INBOUND_TOKEN)).status).toBe(400);
    expect429(await post(TEST_INBOUND_TOKEN));
    // The legacy path shares the bucket.
    expect429(
      await t
        .http()
        .post('/requests/webhook/email')
        .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
        .send({ messages: [] }),
    );
  });

  it('leaves other routes unlimited', async () => {
    for (let i = 0; i < 10; i++) expect((await t.http().get('/health/live')).status).toBe(200);
  });
});

describe('TRUST_PROXY', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ TRUST_PROXY: 'loopback', LOGIN_RATE_LIMIT: '2' });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('takes the client address from X-Forwarded-For sent by a trusted proxy', async () => {
    const login = (ip: string) =>
      t
        .http()
        .post('/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email: TEST_ADMIN.email, password: TEST_ADMIN.password });
    expect((await login('198.51.100.1')).status).toBe(200);
    expect((await login('198.51.100.1')).status).toBe(200);
    expect((await login('198.51.100.1')).status).toBe(429);
    expect((await login('198.51.100.2')).status).toBe(200);
  });
});

describe('the account lockout cannot be turned against the account', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ TRUST_PROXY: 'loopback', LOGIN_RATE_LIMIT: '0', LOGIN_ACCOUNT_RATE_LIMIT: '10' });
  });

  afterAll(async () => {
    await t?.close();
  });

  const login = (ip: string, password: string) =>
    t.http().post('/auth/login').set('X-Forwarded-For', ip).send({ email: TEST_ADMIN.email, password });

  it("an attacker's address failing 50 times is 429'd; the real admin still logs in from another address", async () => {
    const answers: number[] = [];
    for (let i = 0; i < 50; i++) answers.push((await login('203.0.113.66', `guess-${i}`)).status);
    expect(answers.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(new Set(answers.slice(10))).toEqual(new Set([429]));
    const blocked = await login('203.0.113.66', TEST_ADMIN.password);
    expect429(blocked);
    const started = Date.now();
    const admin = await login('198.51.100.20', TEST_ADMIN.password);
    expect(admin.status).toBe(200);
    expect(admin.body.accessToken).toEqual(expect.any(String));
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);
});

describe('TRUST_PROXY validation', () => {
  it('rejects a value that is no proxy name, IP or CIDR', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/99' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, ::1' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      '::1',
    ]);
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({}).rateLimit).toEqual({
      loginPerMinute: 20,
      loginFailuresPerAccount: 10,
      webhookPerMinute: 0,
      webhookFailuresPerMinute: 30,
    });
  });
});
