import { signRatingToken } from '../../src/feedback/rating-token';
import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql } from '../setup/mail';

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('satisfaction rating links in the closing mail', () => {
  let t: TestApp;
  let admin: string;
  let n = 0;

  async function closedRequest(): Promise<{ id: number; links: string[]; html: string }> {
    n += 1;
    const res = await postRaw(
      t,
      rawMail({ from: `rate${n}@example.com`, subject: `Rate ${n}`, messageId: `rate-${n}@example.com` }),
    );
    const id = res.body.results[0].requestId as number;
    expect((await t.http().post(`/requests/${id}/assign`).set(auth(admin)).send({})).status).toBe(200);
    expect((await t.http().post(`/requests/${id}/close`).set(auth(admin))).status).toBe(200);
    const [mail] = await sql<{ text: string; html: string }>(
      t,
      `SELECT text, html FROM messages WHERE request_id = $1 AND kind = 'auto_reply' ORDER BY seq DESC LIMIT 1`,
      [id],
    );
    return {
      id,
      links: [...mail.text.matchAll(/https:\/\/desk\.example\.com\/feedback\/(\S+)/g)].map((m) => m[1]),
      html: mail.html,
    };
  }

  const rated = async (id: number) =>
    (await t.http().get(`/requests/${id}/events`).set(auth(admin))).body.items.filter(
      (e: { type: string }) => e.type === 'rated',
    );

  beforeAll(async () => {
    t = await createTestApp({ PUBLIC_URL: 'https://desk.example.com/', SUPPORT_NAME: 'Desk <b>&</b>' });
    admin = await t.adminToken();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('sends five signed links, 1 to 5, in the text and the HTML of the closing mail', async () => {
    const { id, links, html } = await closedRequest();
    expect(links).toHaveLength(5);
    links.forEach((token, i) => expect(token).toMatch(new RegExp(`^${id}\\.${i + 1}\\.\\d+\\.[\\w-]{43}$`)));
    for (const token of links) expect(html).toContain(`<a href="https://desk.example.com/feedback/${token}">`);
  });

  it('records a click, shows a thank-you page, and puts the rating on the request', async () => {
    const { id, links } = await closedRequest();
    const res = await t.http().get(`/feedback/${links[3]}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('Thank you!');
    expect(res.text).toContain(`request #${id}: 4 of 5`);
    // Every value is escaped: the support name carries markup.
    expect(res.text).toContain('Desk &lt;b&gt;&amp;&lt;/b&gt;');
    expect(res.text).not.toContain('<b>');
    const request = (await t.http().get(`/requests/${id}`).set(auth(admin))).body;
    expect(request.satisfaction).toEqual({ rating: 4, ratedAt: expect.any(String) });
    expect(await rated(id)).toEqual([
      expect.objectContaining({ actor: 'customer', data: { rating: 4, previous: null } }),
    ]);
  });

  it('records a repeated click once, and lets a later click change the rating', async () => {
    const { id, links } = await closedRequest();
    expect((await t.http().get(`/feedback/${links[4]}`)).status).toBe(200);
    expect((await t.http().get(`/feedback/${links[4]}`)).status).toBe(200);
    expect(await rated(id)).toHaveLength(1);
    expect((await t.http().get(`/feedback/${links[1]}`)).status).toBe(200);
    const events = await rated(id);
    expect(events.map((e: { data: { rating: number } }) => e.data.rating)).toEqual([5, 2]);
    expect((await t.http().get(`/requests/${id}`).set(auth(admin))).body.satisfaction.rating).toBe(2);
  });

  it('counts ratings in the report', async () => {
    const res = await t.http().get('/reports/summary?period=today&tz=UTC').set(auth(admin));
    expect(res.status).toBe(200);
    // The two rated requests above: 4 and 2.
    expect(res.body.satisfaction).toEqual({ count: 2, average: 3 });
  });

  it('refuses forged, altered and expired links with an HTML page, and changes nothing', async () => {
    const { id, links } = await closedRequest();
    const [rid, , exp, sig] = links[0].split('.');
    for (const token of ['garbage', `${rid}.5.${exp}.${sig}`, `${rid}.1.${exp}.${'A'.repeat(43)}`]) {
      const res = await t.http().get(`/feedback/${encodeURIComponent(token)}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('not valid');
    }
    const expired = signRatingToken(t.config.auth.jwtSecret!, {
      requestId: id,
      rating: 5,
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    const res = await t.http().get(`/feedback/${expired}`);
    expect(res.status).toBe(410);
    expect(res.text).toContain('expired');
    expect(await rated(id)).toEqual([]);
  });

  it('answers 404 for a request that does not exist or is not closed', async () => {
    const open = await postRaw(
      t,
      rawMail({ from: 'open@example.com', subject: 'Open', messageId: 'open-1@example.com' }),
    );
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    for (const requestId of [open.body.results[0].requestId as number, 999_999]) {
      const res = await t
        .http()
        .get(`/feedback/${signRatingToken(t.config.auth.jwtSecret!, { requestId, rating: 5, expiresAt })}`);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
    }
  });
});
