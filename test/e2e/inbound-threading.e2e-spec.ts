import { createTestApp, TestApp } from '../setup/app';
import { fixture, postRaw, rawMail, sql } from '../setup/mail';

/** Threading and filters, one fixture per outcome (DESIGN.md 5). */
describe('inbound threading', () => {
  let t: TestApp;
  const RUN = Date.now().toString(36);
  let requestId: number;
  let autoReplyId: string;
  let adminToken: string;

  beforeAll(async () => {
    t = await createTestApp();
    adminToken = await t.adminToken();
  });
  afterAll(async () => {
    await t?.close();
  });

  const result = async (name: string, vars: Record<string, string | number> = {}) => {
    const res = await postRaw(
      t,
      fixture(`threading/${name}`, { RUN, REQUEST: requestId, PARENT: autoReplyId, ...vars }),
    );
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1);
    return res.body.results[0] as {
      status: string;
      requestId: number | null;
      messageId: string;
      reason: string | null;
    };
  };
  const outboxTo = async (address: string) =>
    Number((await sql<{ n: string }>(t, `SELECT count(*) AS n FROM outbox WHERE to_address = $1`, [address]))[0].n);

  it('creates a new request with an auto-reply for a first email', async () => {
    const r = await result('new-request.eml');
    expect(r.status).toBe('created');
    requestId = r.requestId!;
    const [req] = await sql<{ status: string; subject: string; email: string; name: string }>(
      t,
      `SELECT r.status, r.subject, c.email, c.name FROM requests r JOIN customers c ON c.id = r.customer_id WHERE r.id = $1`,
      [requestId],
    );
    expect(req).toEqual({
      status: 'new',
      subject: 'Printer on floor 3 is broken',
      email: 'alice@customer.test',
      name: 'Alice Example',
    });
    const [reply] = await sql<{ message_id: string; kind: string; in_reply_to: string }>(
      t,
      `SELECT message_id, kind, in_reply_to FROM messages WHERE request_id = $1 AND direction = 'out'`,
      [requestId],
    );
    expect(reply.kind).toBe('auto_reply');
    expect(reply.in_reply_to).toBe(`first.${RUN}@customer.test`);
    autoReplyId = reply.message_id;
    await expect(outboxTo('alice@customer.test')).resolves.toBe(1);
  });

  it('appends a reply that has our Message-ID in In-Reply-To', async () => {
    const r = await result('reply-with-in-reply-to-appends.eml');
    expect(r).toMatchObject({ status: 'appended', requestId });
  });

  it('appends a reply that has only the subject token', async () => {
    const r = await result('reply-with-subject-token-only-appends.eml');
    expect(r).toMatchObject({ status: 'appended', requestId });
  });

  it('appends a new topic from a customer who has an open request', async () => {
    const r = await result('new-topic-with-open-request-appends.eml');
    expect(r).toMatchObject({ status: 'appended', requestId });
  });

  it("appends a CC'd colleague's reply to the customer's request", async () => {
    const r = await result('cc-colleague-reply-appends.eml');
    expect(r).toMatchObject({ status: 'appended', requestId });
    const [bob] = await sql(t, `SELECT id FROM customers WHERE email = 'bob@customer.test'`);
    expect(bob).toBeUndefined();
  });

  it('stores an out-of-office on the request and never answers it', async () => {
    const before = await outboxTo('alice@customer.test');
    const r = await result('out-of-office-appends-without-reply.eml');
    expect(r.status).toBe('appended');
    expect(r.requestId).toBe(requestId);
    expect(r.reason).toMatch(/automatic/);
    await expect(outboxTo('alice@customer.test')).resolves.toBe(before);
  });

  it('attaches a bounce quoting our own outgoing Message-ID to its request, opens nothing, answers nothing', async () => {
    const r = await result('bounce-attaches-to-request.eml');
    expect(r).toMatchObject({ status: 'appended', requestId });
    const daemon = await sql(t, `SELECT id FROM customers WHERE email LIKE 'mailer-daemon%'`);
    expect(daemon).toHaveLength(0);
    const [m] = await sql<{ kind: string }>(t, `SELECT kind FROM messages WHERE message_id = $1`, [
      `bounce.${RUN}@mx.customer.test`,
    ]);
    expect(m.kind).toBe('system');
    await expect(outboxTo('mailer-daemon@mx.customer.test')).resolves.toBe(0);
  });

  it("stores a bounce quoting a customer's own Message-ID as ignored, attached to nothing", async () => {
    const count = async () =>
      Number(
        (await sql<{ n: string }>(t, `SELECT count(*) AS n FROM messages WHERE request_id = $1`, [requestId]))[0].n,
      );
    const before = await count();
    const r = await result('bounce-quoting-customer-mail-is-ignored.eml');
    expect(r).toMatchObject({ status: 'ignored', requestId: null });
    expect(r.reason).toMatch(/bounce.*refers to no mail the desk sent/);
    await expect(count()).resolves.toBe(before);
    const stored = await sql(t, `SELECT id FROM messages WHERE message_id = $1`, [
      `bounce-foreign.${RUN}@mx.elsewhere.test`,
    ]);
    expect(stored).toHaveLength(0);
    const [kept] = await sql<{ status: string }>(t, `SELECT status FROM inbound_mail WHERE message_id = $1`, [
      `bounce-foreign.${RUN}@mx.elsewhere.test`,
    ]);
    expect(kept.status).toBe('ignored');
  });

  it('ignores our own auto-reply sent back to us', async () => {
    const r = await result('own-auto-reply-returned-is-ignored.eml', { PARENT: `md-looped.${RUN}@desk.test` });
    expect(r.status).toBe('ignored');
    expect(r.reason).toMatch(/own mail/);
  });

  it('stores mail without a Message-ID once, under a content hash', async () => {
    const first = await result('no-message-id-is-stored-once.eml');
    expect(first.status).toBe('created');
    const again = await result('no-message-id-is-stored-once.eml');
    expect(again).toMatchObject({ status: 'duplicate', requestId: first.requestId });
    const rows = await sql(t, `SELECT id FROM messages WHERE request_id = $1 AND direction = 'in'`, [first.requestId]);
    expect(rows).toHaveLength(1);
  });

  it('answers a duplicate delivery as duplicate and changes nothing', async () => {
    const count = async () => (await sql<{ n: string }>(t, `SELECT count(*) AS n FROM messages`))[0].n;
    const before = await count();
    const r = await result('new-request.eml');
    expect(r).toMatchObject({ status: 'duplicate', requestId });
    await expect(count()).resolves.toBe(before);
  });

  it('opens a new request linked to the closed one when the customer replies to it', async () => {
    const auth = { Authorization: `Bearer ${adminToken}` };
    await t.http().post(`/requests/${requestId}/assign`).set(auth).send({}).expect(200);
    await t.http().post(`/requests/${requestId}/close`).set(auth).expect(200);
    const r = await result('reply-to-closed-request-opens-new.eml');
    expect(r.status).toBe('created');
    expect(r.requestId).not.toBe(requestId);
    const [next] = await sql<{ previous_request_id: number }>(
      t,
      `SELECT previous_request_id FROM requests WHERE id = $1`,
      [r.requestId],
    );
    expect(next.previous_request_id).toBe(requestId);
    const [old] = await sql<{ status: string }>(t, `SELECT status FROM requests WHERE id = $1`, [requestId]);
    expect(old.status).toBe('closed');
  });

  it('opens exactly one request for 50 concurrent mails from one new sender, with gapless seq', async () => {
    const from = `dave.${RUN}@customer.test`;
    const posts = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        postRaw(t, rawMail({ from, subject: `Outage #${i}`, messageId: `h${i}.${RUN}@customer.test` })),
      ),
    );
    expect(posts.map((p) => p.status)).toEqual(Array(50).fill(200));
    const statuses = posts.map((p) => p.body.results[0].status as string);
    expect(statuses.filter((s) => s === 'created')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'appended')).toHaveLength(49);
    expect(new Set(posts.map((p) => p.body.results[0].requestId)).size).toBe(1);
    const seqs = await sql<{ seq: number }>(
      t,
      `SELECT m.seq FROM messages m JOIN requests r ON r.id = m.request_id JOIN customers c ON c.id = r.customer_id
       WHERE c.email = $1 ORDER BY m.seq`,
      [from],
    );
    expect(seqs.map((s) => s.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1)); // 50 mails + 1 auto-reply
    await expect(outboxTo(from)).resolves.toBe(1);
  });
});
