import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { createTestApp, TEST_ADMIN, TestApp } from '../setup/app';

describe('POST /auth/login and the auth guard', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('seeds the configured admin at start and logs them in', async () => {
    const res = await t.http().post('/auth/login').send({ email: TEST_ADMIN.email, password: TEST_ADMIN.password });
    expect(res.status).toBe(200);
    expect(typeof res.body.accessToken).toBe('string');
    expect(res.body.tokenType).toBe('Bearer');
    expect(res.body.operator).toMatchObject({ email: TEST_ADMIN.email, role: 'admin', active: true });
    expect(res.body.operator).not.toHaveProperty('passwordHash');
    const rows: Array<{ n: number }> = await t.db.dataSource.query('SELECT count(*)::int AS n FROM operators');
    expect(rows[0].n).toBe(1);
  });

  it('accepts the email in any case', async () => {
    const res = await t
      .http()
      .post('/auth/login')
      .send({ email: TEST_ADMIN.email.toUpperCase(), password: TEST_ADMIN.password });
    expect(res.status).toBe(200);
  });

  it('answers 401 JSON for a wrong password', async () => {
    const res = await t.http().post('/auth/login').send({ email: TEST_ADMIN.email, password: 'wrong-password' });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'invalid email or password',
      requestId: expect.any(String),
    });
  });

  it('answers 401 for an unknown email', async () => {
    const res = await t.http().post('/auth/login').send({ email: 'nobody@desk.test', password: 'whatever-123' });
    expect(res.status).toBe(401);
  });

  it('answers 400 naming the field when the body is incomplete', async () => {
    const res = await t.http().post('/auth/login').send({ email: TEST_ADMIN.email });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.message)).toContain('password');
  });

  it('answers 401 for a deactivated operator with the right password', async () => {
    const admin = await t.adminToken();
    const created = await t
      .http()
      .post('/operators')
      .set('Authorization', `Bearer ${admin}`)
      .send({ name: 'Gone', email: 'gone@desk.test', password: 'gone-password-1', role: 'operator' });
    expect(created.status).toBe(201);
    await t.login('gone@desk.test', 'gone-password-1');
    const patched = await t
      .http()
      .patch(`/operators/${created.body.id}`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ active: false });
    expect(patched.status).toBe(200);
    const res = await t.http().post('/auth/login').send({ email: 'gone@desk.test', password: 'gone-password-1' });
    expect(res.status).toBe(401);
  });

  it('refuses a missing, malformed, forged or expired token with 401', async () => {
    const noToken = await t.http().get('/operators');
    expect(noToken.status).toBe(401);
    expect(noToken.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    const malformed = await t.http().get('/operators').set('Authorization', 'Basic abc');
    expect(malformed.status).toBe(401);
    const admin = await t.adminToken();
    const [h, p] = admin.split('.');
    const forged = await t
      .http()
      .get('/operators')
      .set('Authorization', `Bearer ${h}.${p}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
    expect(forged.status).toBe(401);
    const { JwtService } = await import('@nestjs/jwt');
    const expired = await new JwtService({ secret: t.config.auth.jwtSecret }).signAsync(
      { sub: '1', tv: 0, role: 'admin' },
      { expiresIn: -10 },
    );
    const res = await t.http().get('/operators').set('Authorization', `Bearer ${expired}`);
    expect(res.status).toBe(401);
  });

  it('remembers a verified token only until it expires, and never for a forged copy', async () => {
    const { JwtService } = await import('@nestjs/jwt');
    const short = await new JwtService({ secret: t.config.auth.jwtSecret }).signAsync(
      { sub: '1', tv: 0, role: 'admin' },
      { expiresIn: 2 },
    );
    const get = (token: string) => t.http().get('/operators').set('Authorization', `Bearer ${token}`);
    expect((await get(short)).status).toBe(200);
    expect((await get(short)).status).toBe(200); // the remembered verification
    const [h, p] = short.split('.');
    expect((await get(`${h}.${p}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`)).status).toBe(401);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await get(short)).status).toBe(401);
  });

  it('accepts a token signed with the right secret only while it names an existing operator', async () => {
    const { JwtService } = await import('@nestjs/jwt');
    const ghost = await new JwtService({ secret: t.config.auth.jwtSecret }).signAsync({
      sub: '999999',
      tv: 0,
      role: 'admin',
    });
    const res = await t.http().get('/operators').set('Authorization', `Bearer ${ghost}`);
    expect(res.status).toBe(401);
  });
});

describe('first admin seeding without ADMIN_PASSWORD', () => {
  it('creates admin with a generated password and logs it once', async () => {
    const lines: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown): void => {
      lines.push(String(message));
    });
    let t: TestApp | undefined;
    try {
      t = await createTestApp({ ADMIN_EMAIL: 'boss@desk.test', ADMIN_PASSWORD: '' });
      const line = lines.find((l) => l.startsWith('created admin boss@desk.test with password'));
      expect(line).toMatch(/\(shown once\)$/);
      const password = /with password (\S+) \(shown once\)/.exec(line!)![1];
      await expect(t.login('boss@desk.test', password)).resolves.toEqual(expect.any(String));
    } finally {
      spy.mockRestore();
      await t?.close();
    }
  });
});
