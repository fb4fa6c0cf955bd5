import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail, sql } from '../setup/mail';

/** Priority and tags of requests (issue 21 item 1): the routes, the list filters, the SLA rule, the report. */
forEachDatabase('priority and tags', (kind) => {
  let t: TestApp;
  let admin: string;
  const RUN = Date.now().toString(36);
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const MINUTE = 60_000;

  beforeAll(async () => {
    // Always open (no BUSINESS_HOURS): due = created + minutes. Normal keeps the defaults (240, 2880).
    t = await createTestApp({ SLA_FIRST_RESPONSE_MINUTES_URGENT: '30', SLA_RESOLUTION_MINUTES_URGENT: '120' }, kind);
    admin = await t.adminToken();
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Posts a mail from a new customer; the request it opened. */
  async function mail(name: string, headers: Record<string, string> = {}): Promise<number> {
    const res = await postRaw(
      t,
      rawMail({
        from: `${name}.${RUN}@customer.test`,
        subject: `About ${name}`,
        messageId: `${name}.${RUN}@x.test`,
        headers,
      }),
    );
    expect(res.status).toBe(200);
    return res.body.results[0].requestId as number;
  }
  const get = (id: number, token = admin) => t.http().get(`/requests/${id}`).set(auth(token));
  const events = async (id: number) =>
    (await t.http().get(`/requests/${id}/events`).set(auth(admin))).body.items as Array<{
      type: string;
      data: unknown;
    }>;
  const list = async (query: string, token = admin) => {
    const res = await t.http().get(`/requests${query}`).set(auth(token));
    expect(res.status).toBe(200);
    return (res.body.items as Array<{ id: number; priority: string; tags: string[] }>).map((i) => i.id);
  };
  const after = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * MINUTE).toISOString();

  it('opens requests as normal with the default targets, and a mail asking for it as high', async () => {
    const id = await mail('plain');
    const res = await get(id);
    expect(res.body).toMatchObject({ priority: 'normal', tags: [] });
    expect(res.body.firstResponseDueAt).toBe(after(res.body.createdAt, 240));
    expect(res.body.resolutionDueAt).toBe(after(res.body.createdAt, 2880));
    const asked = await mail('important', { Importance: 'high', 'X-Priority': '1 (Highest)' });
    await expect(get(asked)).resolves.toMatchObject({ body: { priority: 'high' } });
  });

  it('changes the priority: due dates recomputed from creation, a priority_changed event', async () => {
    const id = await mail('urgent');
    const res = await t.http().patch(`/requests/${id}`).set(auth(admin)).send({ priority: 'urgent' });
    expect(res.status).toBe(200);
    expect(res.body.priority).toBe('urgent');
    expect(res.body.firstResponseDueAt).toBe(after(res.body.createdAt, 30));
    expect(res.body.resolutionDueAt).toBe(after(res.body.createdAt, 120));
    expect((await events(id)).filter((e) => e.type === 'priority_changed')).toEqual([
      expect.objectContaining({ data: { from: 'normal', to: 'urgent' } }),
    ]);
    // Back to normal: the default targets again.
    const back = await t.http().patch(`/requests/${id}`).set(auth(admin)).send({ priority: 'normal' });
    expect(back.body.firstResponseDueAt).toBe(after(res.body.createdAt, 240));
    // The same priority again changes nothing.
    await t.http().patch(`/requests/${id}`).set(auth(admin)).send({ priority: 'normal' });
    expect((await events(id)).filter((e) => e.type === 'priority_changed')).toHaveLength(2);
  });

  it("keeps an admin's due dates when the priority changes", async () => {
    const id = await mail('override');
    const set = await t
      .http()
      .patch(`/requests/${id}/sla`)
      .set(auth(admin))
      .send({ firstResponseDueAt: '2030-01-01T00:00:00.000Z' });
    expect(set.status).toBe(200);
    const res = await t.http().patch(`/requests/${id}`).set(auth(admin)).send({ priority: 'urgent' });
    expect(res.body).toMatchObject({ priority: 'urgent', firstResponseDueAt: '2030-01-01T00:00:00.000Z' });
    expect((await events(id)).at(-1)).toMatchObject({
      type: 'priority_changed',
      data: { from: 'normal', to: 'urgent', dueDatesKept: true },
    });
  });

  it('refuses an unknown priority, a missing one and other fields (400)', async () => {
    const id = await mail('bad-priority');
    for (const body of [{ priority: 'critical' }, {}, { priority: 'high', status: 'closed' }, { priority: 3 }]) {
      const res = await t.http().patch(`/requests/${id}`).set(auth(admin)).send(body);
      expect(res.status).toBe(400);
    }
    await expect(get(id)).resolves.toMatchObject({ body: { priority: 'normal' } });
  });

  it('replaces the tags, normalized, with a tags_changed event', async () => {
    const id = await mail('tags');
    const res = await t
      .http()
      .put(`/requests/${id}/tags`)
      .set(auth(admin))
      .send({ tags: ['  Billing ', 'VIP Customer', 'billing', 'Счёт'] });
    expect(res.status).toBe(200);
    expect(res.body.tags).toEqual(['billing', 'vip-customer', 'счёт']);
    const again = await t
      .http()
      .put(`/requests/${id}/tags`)
      .set(auth(admin))
      .send({ tags: ['billing', 'refund'] });
    expect(again.body.tags).toEqual(['billing', 'refund']);
    expect((await events(id)).filter((e) => e.type === 'tags_changed').map((e) => e.data)).toEqual([
      { added: ['billing', 'vip-customer', 'счёт'], removed: [] },
      { added: ['refund'], removed: ['vip-customer', 'счёт'] },
    ]);
    const cleared = await t.http().put(`/requests/${id}/tags`).set(auth(admin)).send({ tags: [] });
    expect(cleared.body.tags).toEqual([]);
  });

  it('refuses invalid tags (400) and changes nothing', async () => {
    const id = await mail('bad-tags');
    await t
      .http()
      .put(`/requests/${id}/tags`)
      .set(auth(admin))
      .send({ tags: ['keep'] });
    const tooMany = Array.from({ length: 21 }, (_, i) => `t${i}`);
    for (const body of [
      { tags: ['<script>'] },
      { tags: ['a,b'] },
      { tags: ['   '] },
      { tags: ['x'.repeat(51)] },
      { tags: tooMany },
      { tags: 'billing' },
      { tags: [42] },
      {},
    ]) {
      const res = await t.http().put(`/requests/${id}/tags`).set(auth(admin)).send(body);
      expect(res.status).toBe(400);
    }
    await expect(get(id)).resolves.toMatchObject({ body: { tags: ['keep'] } });
    const missing = await t
      .http()
      .put(`/requests/999999/tags`)
      .set(auth(admin))
      .send({ tags: ['x'] });
    expect(missing.status).toBe(404);
    const missingPatch = await t.http().patch(`/requests/999999`).set(auth(admin)).send({ priority: 'low' });
    expect(missingPatch.status).toBe(404);
  });

  describe('the list and the counts', () => {
    const ids: Record<string, number> = {};
    beforeAll(async () => {
      for (const [name, priority, tags] of [
        ['l-a', 'urgent', ['lst-billing', 'lst-vip']],
        ['l-b', 'high', ['lst-billing']],
        ['l-c', 'low', ['lst-vip']],
        ['l-d', 'normal', []],
      ] as const) {
        ids[name] = await mail(name);
        await t.http().patch(`/requests/${ids[name]}`).set(auth(admin)).send({ priority });
        await t.http().put(`/requests/${ids[name]}/tags`).set(auth(admin)).send({ tags });
      }
    });

    it('filters by tag (all of several, normalized) and by priority (any of several)', async () => {
      expect((await list('?tag=lst-billing')).sort()).toEqual([ids['l-a'], ids['l-b']].sort());
      expect(await list('?tag=LST-Billing,lst-vip')).toEqual([ids['l-a']]);
      expect(await list('?tag=lst-vip&tag=lst-billing')).toEqual([ids['l-a']]);
      expect((await list('?tag=lst-billing&priority=urgent,low')).sort()).toEqual([ids['l-a']]);
      expect(await list('?priority=low&tag=lst-vip')).toEqual([ids['l-c']]);
      const bad = await t.http().get('/requests?priority=critical').set(auth(admin));
      expect(bad.status).toBe(400);
      const badTag = await t.http().get('/requests?tag=%3Cx%3E').set(auth(admin));
      expect(badTag.status).toBe(400);
    });

    it('sorts by priority: urgent first (then the oldest), -priority the other way', async () => {
      const mine = [ids['l-a'], ids['l-b'], ids['l-d'], ids['l-c']];
      const sorted = (await list('?sort=priority&limit=100')).filter((id) => mine.includes(id));
      expect(sorted).toEqual(mine);
      const reversed = (await list('?sort=-priority&status=new,in_progress&limit=100')).filter((id) =>
        mine.includes(id),
      );
      expect(reversed).toEqual([...mine].reverse());
    });

    it('answers priority and tags in the list items', async () => {
      const res = await t.http().get(`/requests?tag=lst-vip&sort=priority`).set(auth(admin));
      expect(res.body.items.map((i: { priority: string; tags: string[] }) => [i.priority, i.tags])).toEqual([
        ['urgent', ['lst-billing', 'lst-vip']],
        ['low', ['lst-vip']],
      ]);
    });

    it('counts the tags of open requests, most used first; ?status= for others', async () => {
      const res = await t.http().get('/tags').set(auth(admin));
      expect(res.status).toBe(200);
      const counts = (res.body.items as Array<{ tag: string; count: number }>).filter((i) => i.tag.startsWith('lst-'));
      expect(counts).toEqual([
        { tag: 'lst-billing', count: 2 },
        { tag: 'lst-vip', count: 2 },
      ]);
      await sql(t, `UPDATE requests SET status = 'closed', closed_at = now() WHERE id = $1`, [ids['l-c']]);
      const open = (await t.http().get('/tags').set(auth(admin))).body.items as Array<{ tag: string; count: number }>;
      expect(open.find((i) => i.tag === 'lst-vip')).toEqual({ tag: 'lst-vip', count: 1 });
      const closed = await t.http().get('/tags?status=closed').set(auth(admin));
      expect(closed.body.items).toEqual(expect.arrayContaining([{ tag: 'lst-vip', count: 1 }]));
      expect((await t.http().get('/tags?status=gone').set(auth(admin))).status).toBe(400);
    });

    it("keeps an operator in groups to their groups' requests (404 elsewhere, counts of theirs)", async () => {
      const group = await t
        .http()
        .post('/groups')
        .set(auth(admin))
        .send({ name: `PT${RUN}` });
      expect(group.status).toBe(201);
      const op = await t.createOperator({ name: 'Gil', email: `gil.${RUN}@desk.test`, password: 'gil-password-1' });
      await t
        .http()
        .patch(`/operators/${op.id}`)
        .set(auth(admin))
        .send({ groupIds: [group.body.id] });
      const token = await t.login(`gil.${RUN}@desk.test`, 'gil-password-1');
      await sql(t, `UPDATE requests SET group_id = $2 WHERE id = $1`, [ids['l-b'], group.body.id]);
      expect((await t.http().patch(`/requests/${ids['l-a']}`).set(auth(token)).send({ priority: 'low' })).status).toBe(
        404,
      );
      expect((await t.http().put(`/requests/${ids['l-a']}/tags`).set(auth(token)).send({ tags: [] })).status).toBe(404);
      await expect(get(ids['l-a'])).resolves.toMatchObject({ body: { priority: 'urgent' } });
      const tags = await t.http().get('/tags').set(auth(token));
      expect(tags.body.items).toEqual([{ tag: 'lst-billing', count: 1 }]);
      expect(await list('?tag=lst-billing', token)).toEqual([ids['l-b']]);
      const mine = await t.http().patch(`/requests/${ids['l-b']}`).set(auth(token)).send({ priority: 'urgent' });
      expect(mine.status).toBe(200);
    });

    it('counts the requests by priority in the report, and filters by priority', async () => {
      const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const to = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      const res = await t.http().get(`/reports/summary?from=${from}&to=${to}&tz=UTC`).set(auth(admin));
      expect(res.status).toBe(200);
      const [row] = await sql<{ low: number; normal: number; high: number; urgent: number }>(
        t,
        `SELECT count(*) FILTER (WHERE priority = 'low')::int AS low, count(*) FILTER (WHERE priority = 'normal')::int AS normal,
                count(*) FILTER (WHERE priority = 'high')::int AS high, count(*) FILTER (WHERE priority = 'urgent')::int AS urgent
           FROM requests`,
      );
      expect(res.body.requests.byPriority).toEqual(row);
      expect(row.urgent).toBeGreaterThan(0);
      const urgent = await t
        .http()
        .get(`/reports/summary?from=${from}&to=${to}&tz=UTC&priority=urgent`)
        .set(auth(admin));
      expect(urgent.body.requests.created).toBe(row.urgent);
      expect(urgent.body.requests.byPriority).toEqual({ low: 0, normal: 0, high: 0, urgent: row.urgent });
      const csv = await t
        .http()
        .get(`/reports/summary?from=${from}&to=${to}&tz=UTC`)
        .set(auth(admin))
        .set('Accept', 'text/csv');
      expect(csv.text).toContain(`created_priority_urgent,,,${row.urgent}`);
      expect((await t.http().get('/reports/summary?priority=top').set(auth(admin))).status).toBe(400);
    });
  });
});
