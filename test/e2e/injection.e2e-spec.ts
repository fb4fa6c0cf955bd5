import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail } from '../setup/mail';

const TABLES = [
  'operators',
  'customers',
  'requests',
  'messages',
  'attachments',
  'request_events',
  'inbound_mail',
  'outbox',
];

/** SQL-injection and type-confusion values for one query parameter. */
const PAYLOADS = [
  "' OR 1=1--",
  "1' OR '1'='1",
  '1;DROP TABLE requests',
  "'; DELETE FROM operators; --",
  '") OR ("a"="a',
  '%27%20OR%201%3D1',
  '-1',
  '0',
  '1e309',
  '99999999999999999999999999',
  'NaN',
  'Infinity',
  'null',
  'true',
  '[]',
  '{}',
  'ﾟ･✿ヾ╲(｡◕‿◕｡)╱✿･ﾟ',
  '\u202eevil',
  'a\u0000b',
  'x'.repeat(10_000),
];

const PARAMS = ['sort', 'status', 'operatorId', 'customer', 'createdFrom', 'createdTo', 'q', 'page', 'limit'];

describe('GET /requests and path ids under injection and type confusion', () => {
  let t: TestApp;
  let admin: string;
  let counts: Record<string, number>;

  async function countRows(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of TABLES)
      out[table] = (await t.db.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n;
    return out;
  }

  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.adminToken();
    await postRaw(t, rawMail({ from: 'alice@example.com', subject: 'Printer', messageId: 'inj-1@example.com' }));
    await postRaw(t, rawMail({ from: 'bob@example.com', subject: 'Screen', messageId: 'inj-2@example.com' }));
    counts = await countRows();
  });

  afterAll(async () => {
    await t?.close();
  });

  const get = (path: string) => t.http().get(path).set('Authorization', `Bearer ${admin}`);

  /** A 400 in the error shape, or a 200 page that is correct for a filter nothing matches. */
  function acceptable(res: { status: number; body: Record<string, unknown> }, what: string): string | null {
    if (res.status === 400 && res.body.statusCode === 400 && res.body.error === 'Bad Request') return null;
    if (res.status === 200 && Array.isArray(res.body.items) && typeof res.body.total === 'number') return null;
    return `${what}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
  }

  it('answers 400 or a well-formed page for every parameter and payload, never 500', async () => {
    const problems: string[] = [];
    for (const param of PARAMS) {
      for (const payload of PAYLOADS) {
        const res = await get(`/requests?${param}=${encodeURIComponent(payload)}`);
        const p = acceptable(res, `${param}=${JSON.stringify(payload.slice(0, 30))}`);
        if (p) problems.push(p);
      }
      for (const shape of [
        `${param}[]=new`,
        `${param}[]=1&${param}[]=2`,
        `${param}[a]=b`,
        `${param}[$ne]=1`,
        `${param}=1&${param}=2`,
      ]) {
        const p = acceptable(await get(`/requests?${shape}`), shape);
        if (p) problems.push(p);
      }
    }
    expect(problems).toEqual([]);
  });

  it('treats injection in text filters as plain text: nothing matches, nothing leaks', async () => {
    for (const param of ['customer', 'q']) {
      for (const payload of ["' OR 1=1--", '1;DROP TABLE requests', "nobody@example.com' OR '1'='1"]) {
        const res = await get(`/requests?${param}=${encodeURIComponent(payload)}`);
        expect({ param, payload, status: res.status, total: res.body.total }).toEqual({
          param,
          payload,
          status: 200,
          total: 0,
        });
      }
    }
    // In q, "or" is the web-search operator: the words alice@example.com or 1, i.e. Alice's request only.
    const or = await get(`/requests?q=${encodeURIComponent("alice@example.com' OR '1'='1")}`);
    expect(or.body.items.map((r: { customer: { email: string } }) => r.customer.email)).toEqual(['alice@example.com']);
    const all = await get('/requests');
    expect(all.body.total).toBe(2);
  });

  it('refuses sort values outside the list, whatever they contain', async () => {
    for (const sort of ['id;DROP TABLE requests', 'r.id', '(select 1)', 'createdAt desc', '--createdAt', 'CREATEDAT']) {
      expect((await get(`/requests?sort=${encodeURIComponent(sort)}`)).status).toBe(400);
    }
  });

  it('answers 400 for malformed path ids on every id route, never 500', async () => {
    const ids = [
      "1' OR '1'='1",
      '1;DROP TABLE requests',
      '-1',
      '0',
      '1.5',
      '1e3',
      'NaN',
      '99999999999999999999',
      '2147483648',
      '%00',
      'x'.repeat(5000),
      '1%20OR%201=1',
    ];
    const routes = [
      (id: string) => get(`/requests/${id}`),
      (id: string) => get(`/requests/${id}/events`),
      (id: string) => get(`/requests/${id}/messages`),
      (id: string) => get(`/attachments/${id}`),
      (id: string) => t.http().post(`/requests/${id}/assign`).set('Authorization', `Bearer ${admin}`).send({}),
      (id: string) => t.http().post(`/requests/${id}/close`).set('Authorization', `Bearer ${admin}`),
      (id: string) =>
        t.http().post(`/requests/${id}/messages`).set('Authorization', `Bearer ${admin}`).send({ text: 'x' }),
      (id: string) => t.http().patch(`/operators/${id}`).set('Authorization', `Bearer ${admin}`).send({ name: 'x' }),
      (id: string) => t.http().post(`/inbound/quarantine/${id}/replay`).set('Authorization', `Bearer ${admin}`),
      (id: string) => t.http().post(`/outbox/${id}/retry`).set('Authorization', `Bearer ${admin}`),
    ];
    const problems: string[] = [];
    for (const [i, route] of routes.entries()) {
      for (const id of ids) {
        const res = await route(encodeURIComponent(id).replace(/%25/g, '%'));
        if (![400, 404].includes(res.status) || res.body.statusCode !== res.status)
          problems.push(`route ${i} id ${id.slice(0, 20)}: ${res.status}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('refuses type confusion in JSON bodies with 400', async () => {
    const cases: Array<[string, string, object]> = [
      ['post', '/auth/login', { email: { $ne: '' }, password: { $ne: '' } }],
      ['post', '/auth/login', { email: ["admin@desk.test' --"], password: 'x' }],
      ['post', '/operators', { name: 'a', email: 'a@b.c', password: 'password-123', role: "admin' --" }],
      ['post', '/requests/1/messages', { text: { toString: 'x' } }],
      ['post', '/requests/1/assign', { operatorId: '1 OR 1=1' }],
    ];
    for (const [method, path, body] of cases) {
      const res = await t.http()[method as 'post'](path).set('Authorization', `Bearer ${admin}`).send(body);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
    }
  });

  it('leaves every table unchanged', async () => {
    expect(await countRows()).toEqual(counts);
  });
});
