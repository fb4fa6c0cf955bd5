import { AuditService } from '../../src/audit/audit.service';
import { AUDIT_CSV_COLUMNS } from '../../src/audit/audit.dto';
import { createTestApp, TestApp } from '../setup/app';
import { parseCsv } from '../setup/csv';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail, sql } from '../setup/mail';

interface Entry {
  id: string;
  at: string;
  actorOperatorId: number | null;
  actorEmail: string | null;
  actorRole: string;
  apiTokenId: number | null;
  ip: string | null;
  route: string;
  action: string;
  entity: string;
  entityId: number | null;
  httpRequestId: string | null;
  statusCode: number | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  data: Record<string, unknown> | null;
}

/**
 * The audit log (issue 21 item 6) through the REST API on both databases: who changed what, before
 * and after, from where, with the request id; GET /audit's filters, pages and CSV; the table is
 * append-only; the retention purge.
 */
forEachDatabase('audit log', (kind) => {
  let t: TestApp;
  let admin: string;
  let ann: { id: number; token: string };
  const RUN = Date.now().toString(36);
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  /** A new customer's mail; the request it opened. */
  async function mail(name: string): Promise<number> {
    const res = await postRaw(
      t,
      rawMail({ from: `${name}.${RUN}@customer.test`, subject: `About ${name}`, messageId: `${name}.${RUN}@x.test` }),
    );
    expect(res.status).toBe(200);
    return res.body.results[0].requestId as number;
  }

  async function audit(query: string): Promise<Entry[]> {
    const res = await t.http().get(`/audit${query}`).set(auth(admin));
    expect(res.status).toBe(200);
    return res.body.items as Entry[];
  }

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000' }, kind);
    admin = await t.adminToken();
    ann = await t.createOperator({ name: 'Ann', email: `ann.${RUN}@desk.test`, password: 'ann-password-1' });
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  it('records an operator taking, answering and closing a request: who, from where, before and after, request id', async () => {
    const id = await mail('take');
    const text = 'We are on it: the printer will be replaced tomorrow.';
    await t.http().post(`/requests/${id}/assign`).set(auth(ann.token)).send({}).expect(200);
    const reply = await t.http().post(`/requests/${id}/messages`).set(auth(ann.token)).send({ text }).expect(201);
    await t
      .http()
      .post(`/requests/${id}/close`)
      .set(auth(ann.token))
      .set('X-Request-Id', `close-${RUN}`)
      .send({})
      .expect(200);

    const rows = await audit(`?requestId=${id}`);
    expect(rows.map((r) => r.action)).toEqual(['request.close', 'request.reply', 'request.assign']);
    for (const r of rows) {
      expect(r).toMatchObject({
        actorOperatorId: ann.id,
        actorEmail: `ann.${RUN}@desk.test`,
        actorRole: 'operator',
        apiTokenId: null,
        entity: 'request',
        entityId: id,
      });
      expect(r.ip).toEqual(expect.any(String));
      expect(r.httpRequestId).toEqual(expect.any(String));
    }
    const [close, answer, take] = rows;
    expect(take).toMatchObject({ route: 'POST /requests/:id/assign', statusCode: 200 });
    expect(take.before).toMatchObject({ id, status: 'new', operator_id: null });
    expect(take.after).toMatchObject({ id, status: 'in_progress', operator_id: ann.id });
    expect(answer).toMatchObject({ route: 'POST /requests/:id/messages', statusCode: 201 });
    expect(answer.data).toMatchObject({ messageId: reply.body.id, body: { text: { length: text.length } } });
    // The text itself stays in the conversation, not in the audit.
    expect(JSON.stringify(answer)).not.toContain('printer will be replaced');
    expect(close).toMatchObject({ httpRequestId: `close-${RUN}`, statusCode: 200 });
    expect(close.before).toMatchObject({ status: 'in_progress' });
    expect(close.after).toMatchObject({ status: 'closed' });
    expect(close.after!.closed_at).toEqual(expect.any(String));
    // Neither the search vector nor its counters are copied.
    expect(close.after).not.toHaveProperty('search_vector');

    // A failed call changed nothing and is not recorded.
    await t.http().post(`/requests/${id}/close`).set(auth(ann.token)).send({}).expect(409);
    expect(await audit(`?requestId=${id}`)).toHaveLength(3);
  });

  it("records an admin renaming a customer, and finds it by entity, action, operator and request id", async () => {
    const id = await mail('rename');
    const [{ customer_id: customerId }] = await sql<{ customer_id: number }>(
      t,
      `SELECT customer_id FROM requests WHERE id = $1`,
      [id],
    );
    const [me] = await sql<{ id: number }>(t, `SELECT id FROM operators WHERE email = 'admin@desk.test'`);
    const res = await t
      .http()
      .patch(`/customers/${customerId}`)
      .set(auth(admin))
      .set('X-Request-Id', `rename-${RUN}`)
      .send({ name: 'Renamed Customer' })
      .expect(200);
    expect(res.body.name).toBe('Renamed Customer');

    const [row] = await audit(`?entity=customer&entityId=${customerId}`);
    expect(row).toMatchObject({
      actorOperatorId: me.id,
      actorRole: 'admin',
      route: 'PATCH /customers/:id',
      action: 'customer.update',
      entityId: customerId,
      httpRequestId: `rename-${RUN}`,
      data: { body: { name: 'Renamed Customer' } },
    });
    expect(row.before).toMatchObject({ id: customerId, name: null });
    expect(row.after).toMatchObject({ id: customerId, name: 'Renamed Customer' });
    expect((await audit(`?httpRequestId=rename-${RUN}`)).map((r) => r.id)).toEqual([row.id]);
    expect((await audit(`?action=customer.update&operatorId=${me.id}`)).map((r) => r.id)).toContain(row.id);
    expect(await audit(`?action=customer.update&operatorId=${ann.id}`)).toEqual([]);
  });

  it('records a token changing tags, and the token made and revoked without the token itself', async () => {
    const id = await mail('tags');
    const made = await t.http().post('/auth/tokens').set(auth(ann.token)).send({ name: 'tagger' }).expect(201);
    const secret = made.body.token as string;
    await t.http().put(`/requests/${id}/tags`).set(auth(secret)).send({ tags: ['VIP', 'billing'] }).expect(200);

    const [tags] = await audit(`?requestId=${id}`);
    expect(tags).toMatchObject({
      actorOperatorId: ann.id,
      actorRole: 'operator',
      apiTokenId: made.body.id,
      route: 'PUT /requests/:id/tags',
      action: 'request.tags.update',
      before: expect.objectContaining({ tags: [] }),
      after: expect.objectContaining({ tags: ['billing', 'vip'] }),
    });

    await t.http().delete(`/auth/tokens/${made.body.id}`).set(auth(ann.token)).expect(204);
    const rows = await audit(`?entity=api_token&entityId=${made.body.id}`);
    expect(rows.map((r) => r.action)).toEqual(['api_token.revoke', 'api_token.create']);
    expect(rows[1].before).toBeNull();
    expect(rows[1].after).toMatchObject({ id: made.body.id, name: 'tagger', revoked_at: null });
    expect(rows[0].after!.revoked_at).toEqual(expect.any(String));
    const all = JSON.stringify(await audit('?limit=200'));
    expect(all).not.toContain(secret.slice(-20));
    expect(all).not.toContain('token_hash');
  });

  it('redacts passwords in bodies and leaves the password hash out of snapshots', async () => {
    const op = await t.createOperator({ name: 'Cid', email: `cid.${RUN}@desk.test`, password: 'cid-password-1' });
    const [row] = await audit(`?entity=operator&entityId=${op.id}`);
    expect(row).toMatchObject({ action: 'operator.create', before: null, data: { body: { password: '[redacted]' } } });
    expect(row.after).toMatchObject({ id: op.id, email: `cid.${RUN}@desk.test`, role: 'operator' });
    expect(row.after).not.toHaveProperty('password_hash');
    expect(JSON.stringify(row)).not.toContain('cid-password-1');
  });

  it('does not record logins nor presence heartbeats', async () => {
    const id = await mail('presence');
    await t.http().put(`/requests/${id}/presence`).set(auth(ann.token)).send({ state: 'viewing' }).expect(200);
    await t.login(`ann.${RUN}@desk.test`, 'ann-password-1');
    const [{ n }] = await sql<{ n: number }>(
      t,
      `SELECT count(*)::int AS n FROM audit_log WHERE route IN ('POST /auth/login', 'PUT /requests/:id/presence')`,
    );
    expect(n).toBe(0);
  });

  it('is for admins only, and refuses bad filters with a 400', async () => {
    await t.http().get('/audit').expect(401);
    await t.http().get('/audit').set(auth(ann.token)).expect(403);
    for (const q of ['limit=1000', 'limit=0', 'from=yesterday', 'before=abc', 'entity=DROP%20TABLE', 'x=1', 'format=xml']) {
      const res = await t.http().get(`/audit?${q}`).set(auth(admin));
      expect([q, res.status]).toEqual([q, 400]);
    }
    await t.http().get('/audit?from=2026-12-02T00:00:00Z&to=2026-12-01').set(auth(admin)).expect(400);
  });

  it('pages by keyset, newest first, with a Link to the next page', async () => {
    const first = await t.http().get('/audit?limit=2').set(auth(admin)).expect(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextBefore).toBe(first.body.items[1].id);
    expect(first.headers.link).toContain(`before=${first.body.nextBefore}`);
    const second = await t.http().get(`/audit?limit=2&before=${first.body.nextBefore}`).set(auth(admin)).expect(200);
    const ids = [...first.body.items, ...second.body.items].map((e: Entry) => BigInt(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    expect(new Set(ids).size).toBe(4);
    const all = await audit('?limit=200');
    expect(all.length).toBeGreaterThan(4);
    const window = await audit(`?from=${encodeURIComponent(all[all.length - 1].at)}&to=${encodeURIComponent(all[0].at)}&limit=200`);
    expect(window.length).toBe(all.length);
    expect(await audit('?from=2000-01-01&to=2000-01-01')).toEqual([]);
  });

  it('exports every matching row as CSV that reads back (Accept: text/csv or format=csv)', async () => {
    const json = await audit('?limit=200');
    for (const ask of [(r: ReturnType<TestApp['http']>) => r.get('/audit?format=csv'), (r: ReturnType<TestApp['http']>) => r.get('/audit').set('Accept', 'text/csv')]) {
      const res = await ask(t.http()).set(auth(admin)).buffer(true).parse((r, cb) => {
        let s = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (s += d));
        r.on('end', () => cb(null, s));
      });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toMatch(/attachment; filename="maildesk-audit-/);
      const rows = parseCsv(res.body as string);
      expect(rows[0]).toEqual([...AUDIT_CSV_COLUMNS]);
      const body = rows.slice(1);
      expect(body.map((r) => r[0])).toEqual(json.map((e) => e.id));
      const col = (name: (typeof AUDIT_CSV_COLUMNS)[number]) => AUDIT_CSV_COLUMNS.indexOf(name);
      for (const [i, r] of body.entries()) {
        expect(r[col('action')]).toBe(json[i].action);
        expect(r[col('after')] === '' ? null : JSON.parse(r[col('after')])).toEqual(json[i].after);
        expect(r[col('data')] === '' ? null : JSON.parse(r[col('data')])).toEqual(json[i].data);
      }
    }
  });

  it('keeps audit_log append-only against SQL: no UPDATE, DELETE or TRUNCATE', async () => {
    const [{ id }] = await sql<{ id: string }>(t, `SELECT max(id) AS id FROM audit_log`);
    await expect(sql(t, `UPDATE audit_log SET action = 'forged' WHERE id = $1`, [id])).rejects.toThrow(/append-only/);
    await expect(sql(t, `DELETE FROM audit_log WHERE id = $1`, [id])).rejects.toThrow(/append-only/);
    await expect(sql(t, `TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
    const [row] = await sql<{ action: string }>(t, `SELECT action FROM audit_log WHERE id = $1`, [id]);
    expect(row.action).not.toBe('forged');
  });

  it('purges only the rows older than the retention', async () => {
    const insert = (daysAgo: number, action: string) =>
      sql(
        t,
        `INSERT INTO audit_log (at, actor_role, method, route, action, entity)
         VALUES (clock_timestamp() - make_interval(days => $1::integer), 'system', 'CLI', 'maildesk test', $2, 'cli')`,
        [daysAgo, action],
      );
    await insert(400, 'cli.old_one');
    await insert(31, 'cli.old_two');
    await insert(29, 'cli.recent');
    const [{ n: before }] = await sql<{ n: number }>(t, `SELECT count(*)::int AS n FROM audit_log`);
    const service = t.app.get(AuditService);
    expect(await service.purgeExpired(0)).toBe(0);
    expect(await service.purgeExpired(30)).toBe(2);
    const [{ n: after }] = await sql<{ n: number }>(t, `SELECT count(*)::int AS n FROM audit_log`);
    expect(after).toBe(before - 2);
    const left = await sql<{ action: string }>(t, `SELECT action FROM audit_log WHERE action LIKE 'cli.%'`);
    expect(left.map((r) => r.action)).toEqual(['cli.recent']);
    // The permission was the purge's transaction's only.
    await expect(sql(t, `DELETE FROM audit_log WHERE action = 'cli.recent'`)).rejects.toThrow(/append-only/);
  });
});
