import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';

/** One seeded request; each open one gets its own customer (one open request per customer). */
interface Seed {
  customer: string;
  subject: string;
  status: 'new' | 'in_progress' | 'closed';
  operatorId?: number | null;
  createdAt: string;
  updatedAt: string;
  lastMessageAt: string | null;
  body?: string;
}

async function seedRequest(t: TestApp, s: Seed): Promise<number> {
  const [c] = await t.db.dataSource.query(
    `INSERT INTO customers (email, name) VALUES ($1, $2) ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [s.customer, s.customer.split('@')[0]],
  );
  const [r] = await t.db.dataSource.query(
    // search_vector as MessagesService.append builds it from the conversation (subject and text).
    `INSERT INTO requests (customer_id, subject, status, operator_id, created_at, updated_at, last_message_at, closed_at, last_seq, search_vector)
     VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $3 = 'closed' THEN $6::timestamptz END, $8,
             strip(to_tsvector('simple', $2 || ' ' || $9)))
     RETURNING id`,
    [
      c.id,
      s.subject,
      s.status,
      s.operatorId ?? null,
      s.createdAt,
      s.updatedAt,
      s.lastMessageAt,
      s.body ? 1 : 0,
      s.body ?? '',
    ],
  );
  if (s.body) {
    await t.db.dataSource.query(
      `INSERT INTO messages (request_id, seq, direction, kind, from_address, to_addresses, subject, text, message_id, created_at)
       VALUES ($1, 1, 'in', 'customer', $2, '{support@desk.test}', $3, $4, $5, $6)`,
      [r.id, s.customer, s.subject, s.body, `seed-${r.id}@example.com`, s.createdAt],
    );
  }
  return r.id as number;
}

const idsOf = (res: { body: { items: Array<{ id: number }> } }) => res.body.items.map((i) => i.id);

describe('GET /requests', () => {
  let t: TestApp;
  let token: string;
  let operatorId: number;
  const ids: Record<string, number> = {};

  const list = async (query: string) => {
    const res = await t.http().get(`/requests${query}`).set('Authorization', `Bearer ${token}`);
    return res;
  };

  beforeAll(async () => {
    t = await createTestApp();
    token = await t.adminToken();
    const op = await t
      .http()
      .post('/operators')
      .set('Authorization', `Bearer ${token}`)
      .send({ name: 'Bob', email: 'bob@desk.test', password: 'bob-password-1', role: 'operator' });
    operatorId = op.body.id;
    ids.printer = await seedRequest(t, {
      customer: 'jane@example.com',
      subject: 'Printer on floor 3 is jammed',
      status: 'new',
      createdAt: '2025-01-10T10:00:00Z',
      updatedAt: '2025-01-15T10:00:00Z',
      lastMessageAt: '2025-01-12T10:00:00Z',
      body: 'The paper tray makes a grinding noise',
    });
    ids.vpn = await seedRequest(t, {
      customer: 'Max@Example.com'.toLowerCase(),
      subject: 'VPN disconnects',
      status: 'in_progress',
      operatorId,
      createdAt: '2025-01-11T10:00:00Z',
      updatedAt: '2025-01-11T12:00:00Z',
      lastMessageAt: null,
      body: 'Every ten minutes the tunnel drops',
    });
    ids.laptop = await seedRequest(t, {
      customer: 'jane@example.com',
      subject: 'Laptop battery',
      status: 'closed',
      operatorId,
      createdAt: '2025-01-05T10:00:00Z',
      updatedAt: '2025-01-20T10:00:00Z',
      lastMessageAt: '2025-01-19T10:00:00Z',
    });
    ids.mail = await seedRequest(t, {
      customer: 'ola@example.org',
      subject: 'Cannot send mail',
      status: 'closed',
      createdAt: '2025-02-01T00:00:00Z',
      updatedAt: '2025-02-02T00:00:00Z',
      lastMessageAt: '2025-02-01T00:00:00Z',
      body: 'Outlook says the printer queue is full',
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('returns a page with items, total, page and limit, newest first by default', async () => {
    const res = await list('');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 4, totalExact: true, page: 1, limit: 20 });
    expect(idsOf(res)).toEqual([ids.mail, ids.vpn, ids.printer, ids.laptop]);
    const vpn = res.body.items.find((i: { id: number }) => i.id === ids.vpn);
    // The default mailbox (a row once the app has ensured it; none on a bare schema).
    const [defaultMailbox = null] = await t.db.dataSource.query(`SELECT id, address FROM mailboxes WHERE is_default`);
    expect(vpn).toEqual({
      id: ids.vpn,
      status: 'in_progress',
      subject: 'VPN disconnects',
      customer: { id: expect.any(Number), email: 'max@example.com', name: 'max' },
      operator: { id: operatorId, name: 'Bob', email: 'bob@desk.test' },
      previousRequestId: null,
      createdAt: '2025-01-11T10:00:00.000Z',
      updatedAt: '2025-01-11T12:00:00.000Z',
      closedAt: null,
      lastMessageAt: null,
      firstResponseAt: null,
      firstResponseDueAt: null,
      resolutionDueAt: null,
      overdue: false,
      satisfaction: null,
      mailbox: defaultMailbox,
      groupId: null,
      mergedIntoId: null,
      splitFromId: null,
      priority: 'normal',
      tags: [],
    });
  });

  it('filters by one status', async () => {
    const res = await list('?status=new');
    expect(idsOf(res)).toEqual([ids.printer]);
    expect(res.body.total).toBe(1);
  });

  it('filters by several statuses, comma separated or repeated', async () => {
    const comma = await list('?status=new,in_progress&sort=id');
    expect(idsOf(comma)).toEqual([ids.printer, ids.vpn]);
    const repeated = await list('?status=closed&status=new&sort=id');
    expect(idsOf(repeated)).toEqual([ids.printer, ids.laptop, ids.mail]);
  });

  it('answers 400 for an unknown status', async () => {
    const res = await list('?status=new,open');
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.message)).toContain('status');
  });

  it('filters by operator', async () => {
    const res = await list(`?operatorId=${operatorId}&sort=id`);
    expect(idsOf(res)).toEqual([ids.vpn, ids.laptop]);
    expect((await list('?operatorId=abc')).status).toBe(400);
  });

  it('filters by customer email, case-insensitively and exactly', async () => {
    expect(idsOf(await list('?customer=JANE@example.com&sort=id'))).toEqual([ids.printer, ids.laptop]);
    expect(idsOf(await list('?customer=jane@example'))).toEqual([]);
  });

  it('filters by a created date range, a bare createdTo date including its whole day', async () => {
    expect(idsOf(await list('?createdFrom=2025-01-10T00:00:00Z&createdTo=2025-01-11&sort=id'))).toEqual([
      ids.printer,
      ids.vpn,
    ]);
    expect(idsOf(await list('?createdFrom=2025-01-10T10:00:01%2B00:00&sort=id'))).toEqual([ids.vpn, ids.mail]);
    expect(idsOf(await list('?createdTo=2025-01-10T09:59:59Z'))).toEqual([ids.laptop]);
  });

  it('answers 400 for an invalid date', async () => {
    for (const q of ['createdFrom=yesterday', 'createdTo=2025-13-01', 'createdFrom=2025-02-30']) {
      const res = await list(`?${q}`);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain(q.split('=')[0]);
    }
  });

  it('searches subjects and message texts', async () => {
    expect(idsOf(await list('?q=printer&sort=id'))).toEqual([ids.printer, ids.mail]);
    expect(idsOf(await list('?q=tunnel'))).toEqual([ids.vpn]);
    expect(idsOf(await list('?q=grinding%20noise'))).toEqual([ids.printer]);
    expect(idsOf(await list('?q=printer%20-outlook'))).toEqual([ids.printer]);
    expect(idsOf(await list('?q=nothing-matches-this'))).toEqual([]);
  });

  it('combines filters', async () => {
    const res = await list('?q=printer&status=closed');
    expect(idsOf(res)).toEqual([ids.mail]);
    expect(res.body.total).toBe(1);
  });

  it('sorts by every whitelisted field, ascending and descending', async () => {
    const byCreated = [ids.laptop, ids.printer, ids.vpn, ids.mail];
    const byUpdated = [ids.vpn, ids.printer, ids.laptop, ids.mail];
    const byLastMessage = [ids.printer, ids.laptop, ids.mail, ids.vpn]; // no message yet: last either way
    const byId = [ids.printer, ids.vpn, ids.laptop, ids.mail];
    expect(idsOf(await list('?sort=createdAt'))).toEqual(byCreated);
    expect(idsOf(await list('?sort=-createdAt'))).toEqual([...byCreated].reverse());
    expect(idsOf(await list('?sort=updatedAt'))).toEqual(byUpdated);
    expect(idsOf(await list('?sort=-updatedAt'))).toEqual([...byUpdated].reverse());
    expect(idsOf(await list('?sort=lastMessageAt'))).toEqual(byLastMessage);
    expect(idsOf(await list('?sort=-lastMessageAt'))).toEqual([ids.mail, ids.laptop, ids.printer, ids.vpn]);
    expect(idsOf(await list('?sort=id'))).toEqual(byId);
    expect(idsOf(await list('?sort=-id'))).toEqual([...byId].reverse());
    const status = (await list('?sort=status')).body.items.map((i: { status: string }) => i.status);
    expect(status).toEqual(['closed', 'closed', 'in_progress', 'new']);
    expect(idsOf(await list('?sort=status')).slice(0, 2)).toEqual([ids.laptop, ids.mail]); // id breaks the tie
    const statusDesc = (await list('?sort=-status')).body.items.map((i: { status: string }) => i.status);
    expect(statusDesc).toEqual(['new', 'in_progress', 'closed', 'closed']);
  });

  it('orders several statuses (merged per status) exactly as the same requests unfiltered, on every sort and page', async () => {
    for (const sort of ['createdAt', '-createdAt', 'updatedAt', '-lastMessageAt', 'lastMessageAt', 'status', '-id']) {
      for (const page of [1, 2]) {
        const all = await list(`?sort=${sort}&limit=3&page=${page}`);
        const merged = await list(`?status=closed,new,in_progress&sort=${sort}&limit=3&page=${page}`);
        expect(merged.status).toBe(200);
        expect(idsOf(merged)).toEqual(idsOf(all));
        expect(merged.body.total).toBe(all.body.total);
      }
    }
  });

  it('answers 400 for any other sort, including SQL', async () => {
    for (const sort of ['subject', 'created_at', '--createdAt', '-createdAt;DROP TABLE requests', 'r.id', '']) {
      const res = await list(`?sort=${encodeURIComponent(sort)}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
    const still: Array<{ n: number }> = await t.db.dataSource.query('SELECT count(*)::int AS n FROM requests');
    expect(still[0].n).toBe(4);
  });

  it('paginates with a stable order and the total of all pages', async () => {
    const p1 = await list('?sort=id&limit=3&page=1');
    const p2 = await list('?sort=id&limit=3&page=2');
    const p3 = await list('?sort=id&limit=3&page=3');
    expect(p1.body).toMatchObject({ total: 4, page: 1, limit: 3 });
    expect(idsOf(p1)).toEqual([ids.printer, ids.vpn, ids.laptop]);
    expect(p2.body).toMatchObject({ total: 4, page: 2, limit: 3 });
    expect(idsOf(p2)).toEqual([ids.mail]);
    expect(idsOf(p3)).toEqual([]);
    expect(p3.body.total).toBe(4);
  });

  it('answers 400 for a limit over 100, a zero page or an unknown parameter', async () => {
    expect((await list('?limit=101')).status).toBe(400);
    expect((await list('?limit=100')).status).toBe(200);
    expect((await list('?limit=0')).status).toBe(400);
    expect((await list('?page=0')).status).toBe(400);
    expect((await list('?page=x')).status).toBe(400);
    const unknown = await list('?color=blue');
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body.message)).toContain('color');
  });

  it('needs a token', async () => {
    expect((await t.http().get('/requests')).status).toBe(401);
  });
});

describe('GET /requests past REQUESTS_COUNT_LIMIT', () => {
  let t: TestApp;
  let token: string;
  const ids: number[] = [];
  const list = async (query: string) => t.http().get(`/requests${query}`).set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    t = await createTestApp({ REQUESTS_COUNT_LIMIT: '3' });
    token = await t.adminToken();
    for (let i = 0; i < 5; i++) {
      ids.push(
        await seedRequest(t, {
          customer: `c${i}@example.com`,
          subject: `Request ${i}`,
          status: i < 4 ? 'new' : 'closed',
          createdAt: `2025-03-0${i + 1}T10:00:00Z`,
          updatedAt: `2025-03-0${i + 1}T10:00:00Z`,
          lastMessageAt: null,
        }),
      );
    }
  });

  afterAll(async () => {
    await t?.close();
  });

  it('counts exactly up to the limit', async () => {
    const res = await list('?status=closed');
    expect(res.body).toMatchObject({ total: 1, totalExact: true });
    const three = await list('?createdFrom=2025-03-03');
    expect(three.body).toMatchObject({ total: 3, totalExact: true });
  });

  it('past the limit answers a lower bound (the limit or the end of the page), exact on the last page, and every page is still there', async () => {
    const p1 = await list('?sort=id&limit=2&page=1');
    expect(p1.status).toBe(200);
    expect(p1.body).toMatchObject({ total: 3, totalExact: false, page: 1, limit: 2 });
    // A full page past the limit: at least up to its end.
    const p2 = await list('?sort=id&limit=2&page=2');
    expect(p2.body).toMatchObject({ total: 4, totalExact: false, page: 2 });
    // A page that is not full is the last one: the total is exact again.
    const p3 = await list('?sort=id&limit=2&page=3');
    expect(p3.body).toMatchObject({ total: 5, totalExact: true, page: 3 });
    // Past the end: the limit, as a lower bound.
    const p4 = await list('?sort=id&limit=2&page=4');
    expect(p4.body).toMatchObject({ total: 3, totalExact: false, items: [] });
    expect([...idsOf(p1), ...idsOf(p2), ...idsOf(p3)]).toEqual(ids);
    const news = await list('?status=new');
    // 4 matches, over the limit, but all on one page that is not full: counted by the page.
    expect(news.body).toMatchObject({ total: 4, totalExact: true });
    expect(news.body.items).toHaveLength(4);
  });
});

// Its SQL (window functions over a bounded CTE) runs on both databases.
forEachDatabase('GET /requests?q= ranking its newest matches (REQUESTS_SEARCH_RANK_LIMIT)', (kind) => {
  let t: TestApp;
  let token: string;
  /** Twelve requests naming "router", oldest first (ids by day: day 1 the oldest). */
  const byDay: number[] = [];
  const list = (query: string) => t.http().get(`/requests${query}`).set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    // The newest 5 matches are ranked; the count is exact up to 8.
    t = await createTestApp({ REQUESTS_SEARCH_RANK_LIMIT: '5', REQUESTS_COUNT_LIMIT: '8' }, kind);
    token = await t.adminToken();
    // Day 10 (third newest) names it three times: the best match among the newest five. Day 6
    // (seventh newest) names it four times, but is older than the ranked five.
    const subjects: Record<number, string> = { 10: 'Router router router reboots', 6: 'Router router router router' };
    for (let day = 1; day <= 12; day++) {
      const at = `2025-03-${String(day).padStart(2, '0')}T10:00:00Z`;
      byDay[day] = await seedRequest(t, {
        customer: `router${day}@example.com`,
        subject: subjects[day] ?? `Router problem ${day}`,
        status: 'closed',
        createdAt: at,
        updatedAt: at,
        lastMessageAt: at,
        body: day === 12 ? 'The router is fine now' : undefined,
      });
    }
    await seedRequest(t, {
      customer: 'other@example.com',
      subject: 'Printer',
      status: 'closed',
      createdAt: '2025-03-20T10:00:00Z',
      updatedAt: '2025-03-20T10:00:00Z',
      lastMessageAt: null,
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('puts the best of the newest matches first, then the rest of them by relevance, then older matches newest first', async () => {
    const res = await list('?q=router&limit=20');
    expect(res.status).toBe(200);
    const ranked = [byDay[10], byDay[12], byDay[11], byDay[9], byDay[8]];
    const older = [byDay[7], byDay[6], byDay[5], byDay[4], byDay[3], byDay[2], byDay[1]];
    expect(idsOf(res)).toEqual([...ranked, ...older]);
    // A partial page is the last one: the total is exact although past REQUESTS_COUNT_LIMIT.
    expect(res.body).toMatchObject({ total: 12, totalExact: true });
  });

  it('returns a broad word page by page in one order, with a lower-bound total until the last page', async () => {
    const pages = [];
    for (const page of [1, 2, 3]) pages.push(await list(`?q=router&limit=5&page=${page}`));
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200]);
    // A full first page past the limit of 8: at least 8.
    expect(pages[0].body).toMatchObject({ total: 8, totalExact: false, page: 1, limit: 5 });
    expect(pages[0].body.items[0].id).toBe(byDay[10]);
    expect(pages[1].body).toMatchObject({ total: 10, totalExact: false, page: 2 });
    expect(pages[2].body).toMatchObject({ total: 12, totalExact: true, page: 3 });
    const all = pages.flatMap(idsOf);
    expect(new Set(all).size).toBe(12);
    expect(all).toEqual(idsOf(await list('?q=router&limit=20')));
  });

  it('ranks every match and counts them exactly with REQUESTS_SEARCH_RANK_LIMIT=0', async () => {
    const all = await createTestApp({ REQUESTS_SEARCH_RANK_LIMIT: '0', REQUESTS_COUNT_LIMIT: '8' }, kind, {
      db: t.db,
    });
    try {
      const res = await all
        .http()
        .get('/requests?q=router&limit=3')
        .set('Authorization', `Bearer ${await all.adminToken()}`);
      expect(res.status).toBe(200);
      // Day 6 names it most: first once every match is ranked.
      expect(idsOf(res)).toEqual([byDay[6], byDay[10], byDay[12]]);
      expect(res.body).toMatchObject({ total: 12, totalExact: true });
    } finally {
      await all.close();
    }
  });
});
