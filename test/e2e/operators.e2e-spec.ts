import { createTestApp, TEST_ADMIN, TestApp } from '../setup/app';

describe('/operators', () => {
  let t: TestApp;
  let admin: string;
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.adminToken();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('creates an operator (201) with a lower-cased email and never shows the password hash', async () => {
    const res = await t
      .http()
      .post('/operators')
      .set(auth(admin))
      .send({ name: ' Carol ', email: 'Carol@Desk.TEST', password: 'carol-password-1', role: 'operator' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      name: 'Carol',
      email: 'carol@desk.test',
      role: 'operator',
      signature: null,
      active: true,
      groupIds: [],
      // Automatic assignment (docs/assignment.md): not available until they say so.
      available: false,
      capacity: null,
      load: 0,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const [row] = await t.db.dataSource.query('SELECT password_hash FROM operators WHERE id = $1', [res.body.id]);
    expect(row.password_hash).toMatch(/^\$argon2/);
    await expect(t.login('carol@desk.test', 'carol-password-1')).resolves.toEqual(expect.any(String));
  });

  it('answers 409 for a duplicate email, whatever its case', async () => {
    const res = await t
      .http()
      .post('/operators')
      .set(auth(admin))
      .send({ name: 'Other', email: 'CAROL@desk.test', password: 'other-password-1', role: 'operator' });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'an operator with this email exists',
      requestId: expect.any(String),
    });
  });

  it('answers 400 naming each invalid field', async () => {
    const res = await t
      .http()
      .post('/operators')
      .set(auth(admin))
      .send({ name: '', email: 'not-an-email', password: 'short', role: 'boss' });
    expect(res.status).toBe(400);
    const text = JSON.stringify(res.body.message);
    for (const field of ['name', 'email', 'password', 'role']) expect(text).toContain(field);
    const extra = await t
      .http()
      .post('/operators')
      .set(auth(admin))
      .send({ name: 'X', email: 'x@desk.test', password: 'x-password-1', role: 'operator', isRoot: true });
    expect(extra.status).toBe(400);
    expect(JSON.stringify(extra.body.message)).toContain('isRoot');
    const patch = await t.http().patch('/operators/1').set(auth(admin)).send({ active: 'no' });
    expect(patch.status).toBe(400);
    expect(JSON.stringify(patch.body.message)).toContain('active');
  });

  it('lists operators for any operator, but only admins create or change them (403)', async () => {
    const created = await t
      .http()
      .post('/operators')
      .set(auth(admin))
      .send({ name: 'Dan', email: 'dan@desk.test', password: 'dan-password-1', role: 'operator' });
    const dan = await t.login('dan@desk.test', 'dan-password-1');
    const list = await t.http().get('/operators').set(auth(dan));
    expect(list.status).toBe(200);
    expect(list.body.items.map((o: { email: string }) => o.email)).toEqual(
      expect.arrayContaining([TEST_ADMIN.email, 'dan@desk.test']),
    );
    expect(JSON.stringify(list.body)).not.toMatch(/argon|password/i);
    const create = await t
      .http()
      .post('/operators')
      .set(auth(dan))
      .send({ name: 'Eve', email: 'eve@desk.test', password: 'eve-password-1', role: 'admin' });
    expect(create.status).toBe(403);
    expect(create.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    const promote = await t.http().patch(`/operators/${created.body.id}`).set(auth(dan)).send({ role: 'admin' });
    expect(promote.status).toBe(403);
  });

  it('updates name and role, 404 for an unknown operator, 400 for a bad id', async () => {
    const created = await t
      .http()
      .post('/operators')
      .set(auth(admin))
      .send({ name: 'Fay', email: 'fay@desk.test', password: 'fay-password-1', role: 'operator' });
    const res = await t
      .http()
      .patch(`/operators/${created.body.id}`)
      .set(auth(admin))
      .send({ name: 'Fay Admin', role: 'admin' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.body.id, name: 'Fay Admin', role: 'admin', active: true });
    const fay = await t.login('fay@desk.test', 'fay-password-1');
    expect(
      (
        await t
          .http()
          .post('/operators')
          .set(auth(fay))
          .send({ name: 'Gus', email: 'gus@desk.test', password: 'gus-password-1', role: 'operator' })
      ).status,
    ).toBe(201);
    expect((await t.http().patch('/operators/999999').set(auth(admin)).send({ name: 'x' })).status).toBe(404);
    expect((await t.http().patch('/operators/abc').set(auth(admin)).send({ name: 'x' })).status).toBe(400);
  });

  it('deactivation ends existing tokens and blocks login; the operator stays listed', async () => {
    const created = await t
      .http()
      .post('/operators')
      .set(auth(admin))
      .send({ name: 'Hal', email: 'hal@desk.test', password: 'hal-password-1', role: 'operator' });
    const hal = await t.login('hal@desk.test', 'hal-password-1');
    expect((await t.http().get('/operators').set(auth(hal))).status).toBe(200);
    const off = await t.http().patch(`/operators/${created.body.id}`).set(auth(admin)).send({ active: false });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await t.http().get('/operators').set(auth(hal))).status).toBe(401);
    expect(
      (await t.http().post('/auth/login').send({ email: 'hal@desk.test', password: 'hal-password-1' })).status,
    ).toBe(401);
    const list = await t.http().get('/operators').set(auth(admin));
    expect(list.body.items.find((o: { id: number }) => o.id === created.body.id)).toMatchObject({ active: false });
    await t.http().patch(`/operators/${created.body.id}`).set(auth(admin)).send({ active: true }).expect(200);
    await expect(t.login('hal@desk.test', 'hal-password-1')).resolves.toEqual(expect.any(String));
    expect((await t.http().get('/operators').set(auth(hal))).status).toBe(401);
  });

  it('a password change ends existing tokens; the new password works', async () => {
    const created = await t
      .http()
      .post('/operators')
      .set(auth(admin))
      .send({ name: 'Ivy', email: 'ivy@desk.test', password: 'ivy-password-1', role: 'operator' });
    const ivy = await t.login('ivy@desk.test', 'ivy-password-1');
    await t
      .http()
      .patch(`/operators/${created.body.id}`)
      .set(auth(admin))
      .send({ password: 'ivy-password-2' })
      .expect(200);
    expect((await t.http().get('/operators').set(auth(ivy))).status).toBe(401);
    expect(
      (await t.http().post('/auth/login').send({ email: 'ivy@desk.test', password: 'ivy-password-1' })).status,
    ).toBe(401);
    const fresh = await t.login('ivy@desk.test', 'ivy-password-2');
    expect((await t.http().get('/operators').set(auth(fresh))).status).toBe(200);
  });

  it('a name change keeps existing tokens valid', async () => {
    const created = await t
      .http()
      .post('/operators')
      .set(auth(admin))
      .send({ name: 'Jo', email: 'jo@desk.test', password: 'jo-password-12', role: 'operator' });
    const jo = await t.login('jo@desk.test', 'jo-password-12');
    await t.http().patch(`/operators/${created.body.id}`).set(auth(admin)).send({ name: 'Joanna' }).expect(200);
    expect((await t.http().get('/operators').set(auth(jo))).status).toBe(200);
  });

  it('refuses to deactivate or demote the last active admin (409)', async () => {
    const fresh = await createTestApp();
    try {
      const token = await fresh.adminToken();
      const [me] = await fresh.db.dataSource.query('SELECT id FROM operators');
      expect((await fresh.http().patch(`/operators/${me.id}`).set(auth(token)).send({ active: false })).status).toBe(
        409,
      );
      expect((await fresh.http().patch(`/operators/${me.id}`).set(auth(token)).send({ role: 'operator' })).status).toBe(
        409,
      );
      expect((await fresh.http().get('/operators').set(auth(token))).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });
});
