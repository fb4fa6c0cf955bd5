import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql } from '../setup/mail';
import { nestRoutes } from '../setup/routes';

/**
 * Groups (queues), issue 18: two groups with an operator each, an operator in no group, requests
 * in each group and one in none. An operator in groups sees and works only their groups' requests:
 * every route under /requests/:id (read from the app's own routes, so a new one is covered) answers
 * for another group's request exactly as for a missing one; lists, search, customers, attachments
 * and reports show only their groups. Admins and operators in no group see everything.
 */
describe('groups: operators work only their groups’ requests', () => {
  let t: TestApp;
  let admin: string;
  const groups = { support: 0, billing: 0 };
  const ops = {} as Record<'support' | 'billing' | 'free', { id: number; token: string }>;
  /** r1 in support (default mailbox), r2 in billing (billing mailbox), r3 in no group. */
  const req = { r1: 0, r2: 0, r3: 0 };
  let defaultMailbox: { id: number; address: string };
  let billingMailbox: number;
  let r2Message: number;
  let r2Attachment: number;
  let r2Customer: number;
  const MISSING = 2_000_000_000;

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  async function ingest(from: string, subject: string, attachment = false): Promise<number> {
    const raw = attachment
      ? Buffer.from(
          [
            `From: ${from}`,
            'To: support@desk.test',
            `Subject: ${subject}`,
            `Message-ID: <${subject.replace(/\W/g, '')}@example.com>`,
            'MIME-Version: 1.0',
            'Content-Type: multipart/mixed; boundary="b"',
            '',
            '--b',
            'Content-Type: text/plain; charset=utf-8',
            '',
            'See attached.',
            '--b',
            'Content-Type: text/plain; name="invoice.txt"',
            'Content-Disposition: attachment; filename="invoice.txt"',
            '',
            'invoice 42',
            '--b--',
            '',
          ].join('\r\n'),
        )
      : rawMail({ from, subject, text: `About ${subject}.` });
    const res = await postRaw(t, raw);
    expect(res.body.results[0].status).toBe('created');
    return res.body.results[0].requestId as number;
  }

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000' });
    admin = await t.adminToken();
    for (const name of ['support', 'billing'] as const) {
      const res = await t
        .http()
        .post('/groups')
        .set(auth(admin))
        .send({ name: name[0].toUpperCase() + name.slice(1) });
      expect(res.status).toBe(201);
      groups[name] = res.body.id;
    }
    ops.support = await t.createOperator({ name: 'Sam', email: 'sam@desk.test', password: 'sam-password-1' });
    ops.billing = await t.createOperator({ name: 'Bea', email: 'bea@desk.test', password: 'bea-password-1' });
    ops.free = await t.createOperator({ name: 'Fred', email: 'fred@desk.test', password: 'fred-password-1' });
    for (const name of ['support', 'billing'] as const) {
      const res = await t
        .http()
        .patch(`/operators/${ops[name].id}`)
        .set(auth(admin))
        .send({ groupIds: [groups[name]] });
      expect(res.status).toBe(200);
      expect(res.body.groupIds).toEqual([groups[name]]);
    }
    // The mailboxes (helper "core" ensures the default one at start; here, if it is not there yet).
    await sql(
      t,
      `INSERT INTO mailboxes (name, address, is_default) SELECT 'Support', 'support@desk.test', true
       WHERE NOT EXISTS (SELECT 1 FROM mailboxes WHERE is_default)`,
    );
    [defaultMailbox] = await sql<{ id: number; address: string }>(
      t,
      `SELECT id, address FROM mailboxes WHERE is_default`,
    );
    [{ id: billingMailbox }] = await sql<{ id: number }>(
      t,
      `INSERT INTO mailboxes (name, address, group_id) VALUES ('Billing', 'billing@desk.test', $1) RETURNING id`,
      [groups.billing],
    );
    req.r1 = await ingest('ann@example.com', 'Printer jammed');
    req.r2 = await ingest('bob@example.com', 'Invoice jammed', true);
    req.r3 = await ingest('cid@example.com', 'Paper jammed');
    await sql(t, `UPDATE requests SET group_id = $2 WHERE id = $1`, [req.r1, groups.support]);
    await sql(t, `UPDATE requests SET group_id = $2, mailbox_id = $3 WHERE id = $1`, [
      req.r2,
      groups.billing,
      billingMailbox,
    ]);
    [{ id: r2Message }] = await sql<{ id: number }>(t, `SELECT id FROM messages WHERE request_id = $1`, [req.r2]);
    [{ id: r2Attachment }] = await sql<{ id: number }>(t, `SELECT id FROM attachments WHERE message_id = $1`, [
      r2Message,
    ]);
    [{ customer_id: r2Customer }] = await sql<{ customer_id: number }>(
      t,
      `SELECT customer_id FROM requests WHERE id = $1`,
      [req.r2],
    );
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('GET and POST /groups', () => {
    it('lists the groups to any operator, by name', async () => {
      const res = await t.http().get('/groups').set(auth(ops.free.token));
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([
        { id: groups.billing, name: 'Billing', assignment: 'off', reassignWhenUnavailable: false },
        { id: groups.support, name: 'Support', assignment: 'off', reassignWhenUnavailable: false },
      ]);
    });

    it('answers 409 to a name taken in any case, 400 to a bad name, 403 to an operator', async () => {
      const dup = await t.http().post('/groups').set(auth(admin)).send({ name: '  BILLING ' });
      expect(dup.status).toBe(409);
      for (const name of ['', '   ', 'x'.repeat(201), 'tab\there', 42]) {
        const bad = await t.http().post('/groups').set(auth(admin)).send({ name });
        expect(bad.status).toBe(400);
      }
      const extra = await t.http().post('/groups').set(auth(admin)).send({ name: 'Sales', color: 'red' });
      expect(extra.status).toBe(400);
      const op = await t.http().post('/groups').set(auth(ops.free.token)).send({ name: 'Sales' });
      expect(op.status).toBe(403);
    });

    it('renames (409 for a taken name) and deletes only an unused group (409 while in use)', async () => {
      const created = await t.http().post('/groups').set(auth(admin)).send({ name: 'Temp' });
      expect(created.status).toBe(201);
      const renamed = await t.http().patch(`/groups/${created.body.id}`).set(auth(admin)).send({ name: 'Temporary' });
      expect(renamed.body).toEqual({
        id: created.body.id,
        name: 'Temporary',
        assignment: 'off',
        reassignWhenUnavailable: false,
      });
      const taken = await t.http().patch(`/groups/${created.body.id}`).set(auth(admin)).send({ name: 'support' });
      expect(taken.status).toBe(409);
      const inUse = await t.http().delete(`/groups/${groups.support}`).set(auth(admin));
      expect(inUse.status).toBe(409);
      const gone = await t.http().delete(`/groups/${created.body.id}`).set(auth(admin));
      expect(gone.status).toBe(204);
      const again = await t.http().delete(`/groups/${created.body.id}`).set(auth(admin));
      expect(again.status).toBe(404);
    });
  });

  describe('PATCH /operators/:id groupIds', () => {
    it('shows the groups in operator responses and refuses an unknown group (nothing changes)', async () => {
      const list = await t.http().get('/operators').set(auth(admin));
      const byEmail = new Map(
        (list.body.items as Array<{ email: string; groupIds: number[] }>).map((o) => [o.email, o]),
      );
      expect(byEmail.get('sam@desk.test')?.groupIds).toEqual([groups.support]);
      expect(byEmail.get('fred@desk.test')?.groupIds).toEqual([]);
      const bad = await t
        .http()
        .patch(`/operators/${ops.support.id}`)
        .set(auth(admin))
        .send({ groupIds: [groups.support, 999999] });
      expect(bad.status).toBe(400);
      for (const groupIds of [['1'], [0], [1.5], 'x', [null]]) {
        const invalid = await t.http().patch(`/operators/${ops.support.id}`).set(auth(admin)).send({ groupIds });
        expect(invalid.status).toBe(400);
      }
      const login = await t.http().post('/auth/login').send({ email: 'sam@desk.test', password: 'sam-password-1' });
      expect(login.body.operator.groupIds).toEqual([groups.support]);
    });

    it('takes effect on the next call with the same token', async () => {
      const seen = async () =>
        ((await t.http().get('/requests').set(auth(ops.support.token))).body.items as Array<{ id: number }>)
          .map((r) => r.id)
          .sort();
      expect(await seen()).toEqual([req.r1]);
      const both = [groups.support, groups.billing];
      await t.http().patch(`/operators/${ops.support.id}`).set(auth(admin)).send({ groupIds: both }).expect(200);
      expect(await seen()).toEqual([req.r1, req.r2].sort());
      await t.http().patch(`/operators/${ops.support.id}`).set(auth(admin)).send({ groupIds: [] }).expect(200);
      expect(await seen()).toEqual([req.r1, req.r2, req.r3].sort());
      await t
        .http()
        .patch(`/operators/${ops.support.id}`)
        .set(auth(admin))
        .send({ groupIds: [groups.support] })
        .expect(200);
      expect(await seen()).toEqual([req.r1]);
    });
  });

  describe('a request: its mailbox and group', () => {
    it('shows mailbox { id, address } (the default one for mailbox_id NULL) and groupId', async () => {
      const r1 = await t.http().get(`/requests/${req.r1}`).set(auth(admin));
      expect(r1.body).toMatchObject({ mailbox: defaultMailbox, groupId: groups.support });
      const r2 = await t.http().get(`/requests/${req.r2}`).set(auth(admin));
      expect(r2.body).toMatchObject({
        mailbox: { id: billingMailbox, address: 'billing@desk.test' },
        groupId: groups.billing,
      });
      const r3 = await t.http().get(`/requests/${req.r3}`).set(auth(admin));
      expect(r3.body).toMatchObject({ mailbox: defaultMailbox, groupId: null });
    });
  });

  describe('every route under /requests/:id', () => {
    /** The routes of the app that take a request id, with a body that would be accepted. */
    const BODIES: Record<string, object> = {
      'POST /requests/:id/assign': {},
      'POST /requests/:id/messages': { text: 'Hello from another group.' },
      'POST /requests/:id/notes': { text: 'A note.' },
      'PATCH /requests/:id/sla': { resolutionDueAt: '2030-01-01T00:00:00Z' },
    };

    async function call(route: { method: string; path: string }, id: number, token: string) {
      const path = route.path.replace(':id', String(id)).replace(':messageId', String(r2Message));
      const method = route.method.toLowerCase() as 'get' | 'post' | 'patch' | 'put' | 'delete';
      const r = t.http()[method](path).set(auth(token));
      return BODIES[`${route.method} ${route.path}`] ? r.send(BODIES[`${route.method} ${route.path}`]) : r;
    }

    it("answers another group's request, and one in no group, exactly as a missing one (404), and changes nothing", async () => {
      const routes = nestRoutes(t).filter((r) => r.path.startsWith('/requests/:id'));
      expect(routes.length).toBeGreaterThanOrEqual(9);
      const count = () =>
        sql(
          t,
          `SELECT (SELECT count(*) FROM request_events)::int AS events, (SELECT count(*) FROM messages)::int AS messages`,
        );
      const before = await count();
      for (const route of routes) {
        for (const hidden of [req.r2, req.r3]) {
          const missing = await call(route, MISSING, ops.support.token);
          const res = await call(route, hidden, ops.support.token);
          const label = `${route.method} ${route.path} for request ${hidden}`;
          expect(`${label} -> ${res.status}`).toBe(`${label} -> ${missing.status}`);
          // The same answer but for the id and the per-call requestId.
          const shape = (body: { message?: string }, id: number) => ({
            ...body,
            message: body.message?.replaceAll(String(id), 'ID'),
            requestId: undefined,
          });
          expect(shape(res.body, hidden)).toEqual(shape(missing.body, MISSING));
          // Admin-only routes answer 403 to any operator before any lookup; the others, 404.
          if (!/unassign|\/sla$/.test(route.path)) expect(`${label} -> ${res.status}`).toBe(`${label} -> 404`);
        }
      }
      await expect(count()).resolves.toEqual(before);
    });

    it('lets the operator of the group, the operator in no group and the admin read it', async () => {
      for (const token of [ops.billing.token, ops.free.token, admin]) {
        await t.http().get(`/requests/${req.r2}`).set(auth(token)).expect(200);
        await t.http().get(`/requests/${req.r2}/messages`).set(auth(token)).expect(200);
        await t.http().get(`/requests/${req.r2}/messages/${r2Message}`).set(auth(token)).expect(200);
        await t.http().get(`/requests/${req.r2}/events`).set(auth(token)).expect(200);
      }
      await t.http().get(`/requests/${req.r3}`).set(auth(ops.free.token)).expect(200);
      await t.http().get(`/requests/${req.r3}`).set(auth(ops.billing.token)).expect(404);
    });

    it("answers 404 for another group's attachment, as for a missing one", async () => {
      const hidden = await t.http().get(`/attachments/${r2Attachment}`).set(auth(ops.support.token));
      expect(hidden.status).toBe(404);
      const missing = await t.http().get(`/attachments/${MISSING}`).set(auth(ops.support.token));
      expect(hidden.body.message.replace(String(r2Attachment), 'ID')).toBe(
        missing.body.message.replace(String(MISSING), 'ID'),
      );
      await t.http().get(`/attachments/${r2Attachment}`).set(auth(ops.billing.token)).expect(200);
      await t.http().get(`/attachments/${r2Attachment}`).set(auth(ops.free.token)).expect(200);
    });

    it('lists only the visible requests of a customer', async () => {
      const hidden = await t.http().get(`/customers/${r2Customer}`).set(auth(ops.support.token));
      expect(hidden.status).toBe(200);
      expect(hidden.body).toMatchObject({ requests: [], requestCount: 0 });
      const shown = await t.http().get(`/customers/${r2Customer}`).set(auth(ops.billing.token));
      expect(shown.body).toMatchObject({ requestCount: 1, requests: [{ id: req.r2, groupId: groups.billing }] });
      const search = await t.http().get('/customers?q=bob').set(auth(ops.support.token));
      expect(search.body.items).toMatchObject([{ id: r2Customer, requestCount: 0 }]);
    });

    it('refuses (400) handing a request to an operator who cannot see it; the group’s operator can take it', async () => {
      const wrong = await t
        .http()
        .post(`/requests/${req.r2}/assign`)
        .set(auth(admin))
        .send({ operatorId: ops.support.id });
      expect(wrong.status).toBe(400);
      expect(wrong.body.message).toMatch(/cannot see request/);
      const right = await t
        .http()
        .post(`/requests/${req.r2}/assign`)
        .set(auth(admin))
        .send({ operatorId: ops.billing.id });
      expect(right.status).toBe(200);
      expect(right.body).toMatchObject({ status: 'in_progress', operator: { id: ops.billing.id } });
      const reassign = await t
        .http()
        .post(`/requests/${req.r2}/assign`)
        .set(auth(admin))
        .send({ operatorId: ops.support.id });
      expect(reassign.status).toBe(400);
      await t.http().post(`/requests/${req.r2}/close`).set(auth(ops.billing.token)).expect(200);
    });
  });

  describe('lists and reports', () => {
    const ids = (body: { items: Array<{ id: number }> }) => body.items.map((r) => r.id).sort();

    it("lists and searches only an operator's groups; everything for the admin and the operator in no group", async () => {
      const cases: Array<[string, string, number[]]> = [
        ['support', '/requests', [req.r1]],
        ['billing', '/requests', [req.r2]],
        ['free', '/requests', [req.r1, req.r2, req.r3]],
        ['admin', '/requests', [req.r1, req.r2, req.r3]],
        ['support', '/requests?q=jammed', [req.r1]],
        ['support', '/requests?q=jammed&sort=-id', [req.r1]],
        ['support', '/requests?status=new,closed', [req.r1]],
        ['billing', '/requests?q=jammed', [req.r2]],
        ['admin', `/requests?groupId=${groups.billing}`, [req.r2]],
        ['admin', `/requests?mailboxId=${billingMailbox}`, [req.r2]],
        ['admin', `/requests?mailboxId=${defaultMailbox.id}`, [req.r1, req.r3]],
        ['free', `/requests?groupId=${groups.support}&q=jammed`, [req.r1]],
        ['support', `/requests?groupId=${groups.billing}`, []],
      ];
      for (const [who, url, want] of cases) {
        const token = who === 'admin' ? admin : ops[who as keyof typeof ops].token;
        const res = await t.http().get(url).set(auth(token));
        expect(`${who} ${url} -> ${res.status} ${JSON.stringify(ids(res.body))} total ${res.body.total}`).toBe(
          `${who} ${url} -> 200 ${JSON.stringify([...want].sort())} total ${want.length}`,
        );
      }
      for (const bad of ['groupId=0', 'groupId=x', 'mailboxId=-1', 'mailboxId=99999999999']) {
        await t.http().get(`/requests?${bad}`).set(auth(admin)).expect(400);
      }
    });

    it("reports only an operator's groups, and one group with groupId (JSON and CSV)", async () => {
      const created = async (token: string, query = '') => {
        const res = await t.http().get(`/reports/summary?period=today&tz=UTC${query}`).set(auth(token));
        expect(res.status).toBe(200);
        return res.body.requests.created as number;
      };
      expect(await created(admin)).toBe(3);
      expect(await created(ops.free.token)).toBe(3);
      expect(await created(ops.support.token)).toBe(1);
      expect(await created(admin, `&groupId=${groups.billing}`)).toBe(1);
      expect(await created(ops.support.token, `&groupId=${groups.billing}`)).toBe(0);
      const csv = await t
        .http()
        .get(`/reports/summary?period=today&tz=UTC&groupId=${groups.billing}`)
        .set(auth(admin))
        .set('Accept', 'text/csv');
      expect(csv.status).toBe(200);
      expect(csv.text).toMatch(/\r\ncreated,,,1\r\n/);
      await t.http().get('/reports/summary?groupId=abc').set(auth(admin)).expect(400);
    });
  });
});
