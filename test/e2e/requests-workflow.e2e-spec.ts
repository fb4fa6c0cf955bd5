import { createTestApp, TestApp } from '../setup/app';

describe('working a request: get, assign, close, messages, events', () => {
  let t: TestApp;
  let admin: string;
  let alice: { id: number; token: string };
  let bob: { id: number; token: string };
  let seq = 0;

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  /** A new request from a new customer with one inbound message, seeded through SQL. */
  async function seedNewRequest(subject = 'Printer jammed'): Promise<number> {
    seq += 1;
    const [c] = await t.db.dataSource.query(`INSERT INTO customers (email, name) VALUES ($1, 'Jane') RETURNING id`, [
      `jane${seq}@example.com`,
    ]);
    const [r] = await t.db.dataSource.query(
      `INSERT INTO requests (customer_id, subject, last_seq, last_message_at) VALUES ($1, $2, 1, now()) RETURNING id`,
      [c.id, subject],
    );
    await t.db.dataSource.query(
      `INSERT INTO messages (request_id, seq, direction, kind, from_address, from_name, to_addresses, subject, text, message_id)
       VALUES ($1, 1, 'in', 'customer', $2, 'Jane', '{support@desk.test}', $3, 'It makes a noise', $4)`,
      [r.id, `jane${seq}@example.com`, subject, `customer-${seq}@mail.example.com`],
    );
    await t.db.dataSource.query(
      `INSERT INTO request_events (request_id, type, actor) VALUES ($1, 'created', 'customer')`,
      [r.id],
    );
    return r.id as number;
  }

  async function createOperator(name: string, email: string): Promise<{ id: number; token: string }> {
    return t.createOperator({ name, email, password: `${name}-password-1` });
  }

  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.adminToken();
    alice = await createOperator('alice', 'alice@desk.test');
    bob = await createOperator('bob', 'bob@desk.test');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('gets one request in the API shape', async () => {
    const id = await seedNewRequest('Laptop will not boot');
    const res = await t.http().get(`/requests/${id}`).set(auth(alice.token));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      status: 'new',
      subject: 'Laptop will not boot',
      customer: { email: expect.stringMatching(/@example\.com$/), name: 'Jane' },
      operator: null,
      previousRequestId: null,
      closedAt: null,
    });
    expect(res.body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('answers 404 for an unknown request and 400 for a non-numeric id', async () => {
    const missing = await t.http().get('/requests/999999').set(auth(alice.token));
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    for (const bad of ['abc', '1.5', '-1', '0', '99999999999']) {
      const res = await t.http().get(`/requests/${bad}`).set(auth(alice.token));
      expect(res.status).toBe(400);
    }
    expect((await t.http().get('/requests/999999/events').set(auth(alice.token))).status).toBe(404);
    expect((await t.http().get('/requests/999999/messages').set(auth(alice.token))).status).toBe(404);
    expect((await t.http().post('/requests/999999/assign').set(auth(alice.token))).status).toBe(404);
    expect((await t.http().post('/requests/999999/close').set(auth(alice.token))).status).toBe(404);
    expect((await t.http().post('/requests/999999/messages').set(auth(alice.token)).send({ text: 'hi' })).status).toBe(
      404,
    );
  });

  it('takes a new request, then refuses to take it again with 409', async () => {
    const id = await seedNewRequest();
    const res = await t.http().post(`/requests/${id}/assign`).set(auth(alice.token)).send({});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      status: 'in_progress',
      operator: { id: alice.id, name: 'alice', email: 'alice@desk.test' },
    });
    const again = await t.http().post(`/requests/${id}/assign`).set(auth(bob.token));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    const messages = await t.http().get(`/requests/${id}/messages`).set(auth(alice.token));
    expect(messages.body.items.map((m: { kind: string }) => m.kind)).toEqual(['customer', 'auto_reply']);
  });

  it('lets an admin assign to someone else, but not an operator', async () => {
    const id = await seedNewRequest();
    const forbidden = await t.http().post(`/requests/${id}/assign`).set(auth(alice.token)).send({ operatorId: bob.id });
    expect(forbidden.status).toBe(403);
    const unknown = await t.http().post(`/requests/${id}/assign`).set(auth(admin)).send({ operatorId: 999999 });
    expect(unknown.status).toBe(400);
    const bad = await t.http().post(`/requests/${id}/assign`).set(auth(admin)).send({ operatorId: 'bob' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.message)).toContain('operatorId');
    const res = await t.http().post(`/requests/${id}/assign`).set(auth(admin)).send({ operatorId: bob.id });
    expect(res.status).toBe(200);
    expect(res.body.operator).toMatchObject({ id: bob.id });
  });

  it('gives exactly one 200 and 409s to the others when operators take the same request at once', async () => {
    for (let round = 0; round < 5; round++) {
      const id = await seedNewRequest();
      const takers = [alice, bob, alice];
      const results = await Promise.all(
        takers.map((o) => t.http().post(`/requests/${id}/assign`).set(auth(o.token)).send({})),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
      const winner = takers[results.findIndex((r) => r.status === 200)];
      const now = await t.http().get(`/requests/${id}`).set(auth(admin));
      expect(now.body.operator.id).toBe(winner.id);
      const events = await t.http().get(`/requests/${id}/events`).set(auth(admin));
      expect(events.body.items.filter((e: { type: string }) => e.type === 'assigned')).toHaveLength(1);
      const messages = await t.http().get(`/requests/${id}/messages`).set(auth(admin));
      expect(messages.body.items.filter((m: { kind: string }) => m.kind === 'auto_reply')).toHaveLength(1);
    }
  });

  it('closes a request in progress, and answers 409 from new or closed', async () => {
    const id = await seedNewRequest();
    const early = await t.http().post(`/requests/${id}/close`).set(auth(alice.token));
    expect(early.status).toBe(409);
    await t.http().post(`/requests/${id}/assign`).set(auth(alice.token)).expect(200);
    const res = await t.http().post(`/requests/${id}/close`).set(auth(alice.token));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('closed');
    expect(res.body.closedAt).toEqual(expect.any(String));
    const twice = await t.http().post(`/requests/${id}/close`).set(auth(alice.token));
    expect(twice.status).toBe(409);
  });

  it('posts an operator message (201) in the API shape, and refuses one on a closed request (409)', async () => {
    const id = await seedNewRequest('Monitor flickers');
    await t.http().post(`/requests/${id}/assign`).set(auth(alice.token)).expect(200);
    const res = await t
      .http()
      .post(`/requests/${id}/messages`)
      .set(auth(alice.token))
      .send({ text: 'Try another cable', html: '<p>Try another cable</p>' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      requestId: id,
      direction: 'out',
      kind: 'operator',
      from: 'support@desk.test',
      to: [expect.stringMatching(/^jane\d+@example\.com$/)],
      cc: [],
      text: 'Try another cable',
      html: '<p>Try another cable</p>',
      inReplyTo: expect.stringMatching(/^customer-\d+@mail\.example\.com$/),
      attachments: [],
      delivery: { status: expect.stringMatching(/^(pending|sent)$/), attempts: expect.any(Number) },
    });
    expect(res.body.subject).toContain('Monitor flickers');
    expect(res.body.messageId).not.toMatch(/[<>]/);
    const list = await t.http().get(`/requests/${id}/messages`).set(auth(alice.token));
    expect(list.status).toBe(200);
    expect(list.body.items.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3]);
    expect(list.body.items[0]).toMatchObject({
      direction: 'in',
      kind: 'customer',
      from: expect.any(String),
      delivery: null,
    });
    expect(list.body.items[2]).toMatchObject({ id: res.body.id, kind: 'operator' });

    const invalid = await t.http().post(`/requests/${id}/messages`).set(auth(alice.token)).send({ text: '' });
    expect(invalid.status).toBe(400);
    const extra = await t
      .http()
      .post(`/requests/${id}/messages`)
      .set(auth(alice.token))
      .send({ text: 'x', replyAll: true });
    expect(extra.status).toBe(400);
    const badBcc = await t
      .http()
      .post(`/requests/${id}/messages`)
      .set(auth(alice.token))
      .send({ text: 'x', bcc: 'not an address' });
    expect(badBcc.status).toBe(400);

    await t.http().post(`/requests/${id}/close`).set(auth(alice.token)).expect(200);
    const closed = await t
      .http()
      .post(`/requests/${id}/messages`)
      .set(auth(alice.token))
      .send({ text: 'one more thing' });
    expect(closed.status).toBe(409);
  });

  it('lists the history of a request in order', async () => {
    const id = await seedNewRequest();
    await t.http().post(`/requests/${id}/assign`).set(auth(bob.token)).expect(200);
    await t.http().post(`/requests/${id}/close`).set(auth(bob.token)).expect(200);
    const res = await t.http().get(`/requests/${id}/events`).set(auth(alice.token));
    expect(res.status).toBe(200);
    const types = res.body.items.map((e: { type: string }) => e.type);
    expect(types[0]).toBe('created');
    expect(types.indexOf('assigned')).toBeLessThan(types.indexOf('closed'));
    const assigned = res.body.items.find((e: { type: string }) => e.type === 'assigned');
    expect(assigned).toMatchObject({
      actor: 'operator',
      operatorId: bob.id,
      createdAt: expect.any(String),
      id: expect.any(Number),
    });
  });
});
