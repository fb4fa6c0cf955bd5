import { createHash } from 'node:crypto';
import request from 'supertest';
import { createApp } from '../../src/app';
import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';

/**
 * Personal access tokens (issue 21 item 5), over HTTP on both databases: made with a login, shown
 * once, stored hashed, used as a bearer token, listed without secrets, revoked at once; expiry,
 * read scope, the operator's current role, deactivation and password changes; last use recorded
 * at most once a minute.
 */
forEachDatabase('API tokens', (kind) => {
  let t: TestApp;
  let admin: string;
  let ann: { id: number; token: string };
  let bob: { id: number; token: string };
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  async function makeToken(login: string, body: object = { name: 'script' }) {
    const res = await t.http().post('/auth/tokens').set(auth(login)).send(body).expect(201);
    return res.body as { id: number; token: string; prefix: string; scope: string; expiresAt: string | null };
  }

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000' }, kind);
    admin = await t.adminToken();
    ann = await t.createOperator({ name: 'Ann', email: 'ann@desk.test', password: 'ann-password-1' });
    bob = await t.createOperator({ name: 'Bob', email: 'bob@desk.test', password: 'bob-password-1' });
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  it('makes a token (shown once, stored hashed), uses it, lists it without secret, and revokes it at once', async () => {
    const made = await makeToken(ann.token, { name: 'Nightly export' });
    expect(made).toMatchObject({ name: 'Nightly export', scope: 'write', expiresAt: null, operatorId: ann.id });
    expect(made.token).toMatch(/^mdt_[A-Za-z0-9_-]{8}_[A-Za-z0-9_-]{43}$/);
    expect(made.token.startsWith(`${made.prefix}_`)).toBe(true);
    const [row] = await t.db.dataSource.query(`SELECT * FROM api_tokens WHERE id = $1`, [made.id]);
    expect(row.token_hash).toBe(createHash('sha256').update(made.token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(made.token.slice(made.prefix.length + 1));

    const requests = await t.http().get('/requests').set(auth(made.token)).expect(200);
    expect(requests.body.items).toEqual([]);
    await t.http().post('/auth/tokens').set(auth(made.token)).send({ name: 'x' }).expect(403);

    const list = await t.http().get('/auth/tokens').set(auth(ann.token)).expect(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: made.id, name: 'Nightly export', prefix: made.prefix, scope: 'write' }),
    ]);
    expect(list.body.items[0].lastUsedAt).toEqual(expect.any(String));
    expect(list.body.items[0].lastUsedIp).toEqual(expect.any(String));
    expect(JSON.stringify(list.body)).not.toContain(made.token);
    expect(list.body.items[0]).not.toHaveProperty('token');
    expect(list.body.items[0]).not.toHaveProperty('tokenHash');

    await t.http().delete(`/auth/tokens/${made.id}`).set(auth(ann.token)).expect(204);
    const after = await t.http().get('/requests').set(auth(made.token)).expect(401);
    expect(after.body.message).toMatch(/API token/);
    await t.http().delete(`/auth/tokens/${made.id}`).set(auth(ann.token)).expect(404);
    expect((await t.http().get('/auth/tokens').set(auth(ann.token)).expect(200)).body.items).toEqual([]);
  });

  it('refuses an expired token, a wrong secret behind a valid prefix, and a token in the query string', async () => {
    const made = await makeToken(ann.token, {
      name: 'short',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(made.expiresAt).toEqual(expect.any(String));
    await t.http().get('/requests').set(auth(made.token)).expect(200);
    const wrong = `${made.prefix}_${'A'.repeat(43)}`;
    await t.http().get('/requests').set(auth(wrong)).expect(401);
    await t
      .http()
      .get('/requests')
      .set(auth(`${made.token}x`))
      .expect(401);
    await t.http().get(`/mailboxes/1/oauth2/authorize?access_token=${made.token}`).expect(401);
    await t.db.dataSource.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      made.id,
    ]);
    await t.http().get('/requests').set(auth(made.token)).expect(401);
  });

  it('lets a read token GET (and HEAD) but answers 403 to anything else', async () => {
    const made = await makeToken(ann.token, { name: 'reader', scope: 'read' });
    expect(made.scope).toBe('read');
    await t.http().get('/requests').set(auth(made.token)).expect(200);
    await t.http().head('/requests').set(auth(made.token)).expect(200);
    const post = await t.http().post('/saved-replies').set(auth(made.token)).send({ name: 'n', text: 't' }).expect(403);
    expect(post.body.message).toMatch(/read-only/);
    await t.http().delete(`/auth/tokens/${made.id}`).set(auth(made.token)).expect(403);
    // Refused before the route's own checks: nothing was made.
    const [{ n }] = await t.db.dataSource.query(`SELECT count(*)::int AS n FROM saved_replies`);
    expect(n).toBe(0);
  });

  it("answers 404 for another operator's token; admins list and revoke anyone's", async () => {
    const bobs = await makeToken(bob.token, { name: 'bob' });
    await t.http().delete(`/auth/tokens/${bobs.id}`).set(auth(ann.token)).expect(404);
    await t.http().get(`/auth/tokens?operatorId=${bob.id}`).set(auth(ann.token)).expect(403);
    const seen = await t.http().get(`/auth/tokens?operatorId=${bob.id}`).set(auth(admin)).expect(200);
    expect(seen.body.items.map((i: { id: number }) => i.id)).toEqual([bobs.id]);
    await t.http().get('/requests').set(auth(bobs.token)).expect(200);
    await t.http().delete(`/auth/tokens/${bobs.id}`).set(auth(admin)).expect(204);
    await t.http().get('/requests').set(auth(bobs.token)).expect(401);
  });

  it("uses the operator's current role; deactivation and a password change end their tokens", async () => {
    const carl = await t.createOperator({ name: 'Carl', email: 'carl@desk.test', password: 'carl-password-1' });
    const made = await makeToken(carl.token);
    await t.http().get('/blocklist').set(auth(made.token)).expect(403);
    await t.http().patch(`/operators/${carl.id}`).set(auth(admin)).send({ role: 'admin' }).expect(200);
    await t.http().get('/blocklist').set(auth(made.token)).expect(200);
    await t.http().patch(`/operators/${carl.id}`).set(auth(admin)).send({ role: 'operator' }).expect(200);
    await t.http().get('/blocklist').set(auth(made.token)).expect(403);

    await t.http().patch(`/operators/${carl.id}`).set(auth(admin)).send({ active: false }).expect(200);
    await t.http().get('/requests').set(auth(made.token)).expect(401);
    // Reactivation does not bring the token back (the token version moved on).
    await t.http().patch(`/operators/${carl.id}`).set(auth(admin)).send({ active: true }).expect(200);
    await t.http().get('/requests').set(auth(made.token)).expect(401);

    const login = await t.login('carl@desk.test', 'carl-password-1');
    const second = await makeToken(login);
    await t.http().get('/requests').set(auth(second.token)).expect(200);
    await t.http().patch(`/operators/${carl.id}`).set(auth(admin)).send({ password: 'carl-password-2' }).expect(200);
    await t.http().get('/requests').set(auth(second.token)).expect(401);
  }, 120_000);

  it('revokes at once on every instance: a second instance on the same database refuses the next call', async () => {
    // The embedded database is one process's: only PostgreSQL has several instances.
    if (t.db.embedded) return;
    const other = await createApp(t.config, t.db.url, ['error']);
    try {
      await other.init();
      await other.getHttpAdapter().getInstance().ready();
      const made = await makeToken(ann.token, { name: 'two instances' });
      await request(other.getHttpServer()).get('/requests').set(auth(made.token)).expect(200);
      await t.http().delete(`/auth/tokens/${made.id}`).set(auth(ann.token)).expect(204);
      await request(other.getHttpServer()).get('/requests').set(auth(made.token)).expect(401);
    } finally {
      await other.close();
    }
  }, 120_000);

  it('records the last use at most once a minute', async () => {
    const made = await makeToken(ann.token, { name: 'touch' });
    await t.http().get('/requests').set(auth(made.token)).expect(200);
    const first = (await t.db.dataSource.query(`SELECT last_used_at FROM api_tokens WHERE id = $1`, [made.id]))[0];
    await t.http().get('/requests').set(auth(made.token)).expect(200);
    const second = (await t.db.dataSource.query(`SELECT last_used_at FROM api_tokens WHERE id = $1`, [made.id]))[0];
    expect(second.last_used_at).toEqual(first.last_used_at);
    await t.db.dataSource.query(
      `UPDATE api_tokens SET last_used_at = now() - interval '2 minutes', last_used_ip = 'old' WHERE id = $1`,
      [made.id],
    );
    await t.http().get('/requests').set(auth(made.token)).expect(200);
    const [third] = await t.db.dataSource.query(`SELECT last_used_at, last_used_ip FROM api_tokens WHERE id = $1`, [
      made.id,
    ]);
    expect(third.last_used_ip).not.toBe('old');
    expect(new Date(third.last_used_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('validates the body (400) and caps live tokens per operator (409)', async () => {
    for (const body of [
      {},
      { name: '' },
      { name: 'x'.repeat(101) },
      { name: 'x', scope: 'admin' },
      { name: 'x', expiresAt: 'tomorrow' },
      { name: 'x', expiresAt: new Date(Date.now() - 1000).toISOString() },
      { name: 'x', expiresAt: new Date(Date.now() + 800 * 86_400_000).toISOString() },
      { name: 'x', extra: true },
    ]) {
      const res = await t.http().post('/auth/tokens').set(auth(bob.token)).send(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    await t.http().delete('/auth/tokens/abc').set(auth(bob.token)).expect(400);
    const [{ n }] = await t.db.dataSource.query(
      `SELECT count(*)::int AS n FROM api_tokens WHERE operator_id = $1 AND revoked_at IS NULL`,
      [bob.id],
    );
    for (let i = n; i < 50; i++) await makeToken(bob.token, { name: `t${i}` });
    const over = await t.http().post('/auth/tokens').set(auth(bob.token)).send({ name: 'one more' }).expect(409);
    expect(over.body.message).toMatch(/50/);
  }, 120_000);
});
