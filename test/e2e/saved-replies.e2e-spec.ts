import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

/**
 * Saved replies and signatures (issue 20 item 7): CRUD and its rules (409 per scope, operators
 * manage only their groups' replies and see global ones and their groups'), and a message written
 * from a saved reply reaching the customer over real SMTP with its variables filled in and the
 * operator's signature at the end (not in the stored conversation).
 */
forEachDatabase('saved replies and signatures', (kind) => {
  let t: TestApp;
  let sink: SmtpSink;
  let admin: string;
  const groups = { billing: 0, sales: 0 };
  const ops = {} as Record<'billing' | 'sales', { id: number; token: string }>;
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const names = (body: { items: Array<{ name: string }> }) => body.items.map((r) => r.name);

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url, LOGIN_RATE_LIMIT: '1000' }, kind);
    admin = await t.adminToken();
    for (const name of ['billing', 'sales'] as const) {
      const res = await t.http().post('/groups').set(auth(admin)).send({ name }).expect(201);
      groups[name] = res.body.id;
    }
    ops.billing = await t.createOperator({ name: 'Bea', email: 'bea@desk.test', password: 'bea-password-1' });
    ops.sales = await t.createOperator({ name: 'Sal', email: 'sal@desk.test', password: 'sal-password-1' });
    for (const name of ['billing', 'sales'] as const) {
      await t
        .http()
        .patch(`/operators/${ops[name].id}`)
        .set(auth(admin))
        .send({ groupIds: [groups[name]] })
        .expect(200);
    }
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('creates, lists, changes and deletes replies; 409 for a name taken in the same scope; 400 for bad input', async () => {
    const created = await t
      .http()
      .post('/saved-replies')
      .set(auth(admin))
      .send({ name: 'Greeting', text: 'Hello {{customer.name}}' })
      .expect(201);
    expect(created.body).toMatchObject({ name: 'Greeting', text: 'Hello {{customer.name}}', groupId: null });
    await t.http().post('/saved-replies').set(auth(admin)).send({ name: ' greeting ', text: 'x' }).expect(409);
    // The same name in a group's scope is another reply.
    await t
      .http()
      .post('/saved-replies')
      .set(auth(admin))
      .send({ name: 'Greeting', text: 'Hi', groupId: groups.sales })
      .expect(201);
    for (const bad of [
      { name: 'A', text: 'Hi {{customer.phone}}' },
      { name: '', text: 'x' },
      { name: 'A', text: 'x'.repeat(20_001) },
      { name: 'A', text: 'x', groupId: 'one' },
      { name: 'A', text: 'x', groupId: 1_999_999_999 },
      { name: 'A', text: 'x', extra: true },
    ]) {
      await t.http().post('/saved-replies').set(auth(admin)).send(bad).expect(400);
    }
    const renamed = await t
      .http()
      .patch(`/saved-replies/${created.body.id}`)
      .set(auth(admin))
      .send({ name: 'Welcome' })
      .expect(200);
    expect(renamed.body).toMatchObject({ name: 'Welcome', text: 'Hello {{customer.name}}' });
    const temp = await t.http().post('/saved-replies').set(auth(admin)).send({ name: 'Temp', text: 't' }).expect(201);
    await t.http().patch(`/saved-replies/${temp.body.id}`).set(auth(admin)).send({ name: 'WELCOME' }).expect(409);
    await t.http().delete(`/saved-replies/${temp.body.id}`).set(auth(admin)).expect(204);
    await t.http().delete(`/saved-replies/${temp.body.id}`).set(auth(admin)).expect(404);
    await t.http().patch('/saved-replies/abc').set(auth(admin)).send({ name: 'x' }).expect(400);
  });

  it("shows an operator global replies and their groups' only; they manage their groups' replies", async () => {
    const bea = auth(ops.billing.token);
    const sal = auth(ops.sales.token);
    const refund = await t
      .http()
      .post('/saved-replies')
      .set(bea)
      .send({ name: 'Refund', text: 'Refunded.', groupId: groups.billing })
      .expect(201);
    await t.http().post('/saved-replies').set(bea).send({ name: 'Global', text: 'x' }).expect(403);
    await t.http().post('/saved-replies').set(bea).send({ name: 'X', text: 'x', groupId: groups.sales }).expect(403);

    expect(names((await t.http().get('/saved-replies').set(bea).expect(200)).body)).toEqual(['Refund', 'Welcome']);
    expect(names((await t.http().get('/saved-replies').set(sal).expect(200)).body)).toEqual(['Greeting', 'Welcome']);
    const admins = await t.http().get(`/saved-replies?groupId=${groups.billing}`).set(auth(admin)).expect(200);
    expect(names(admins.body)).toEqual(['Refund']);
    await t.http().get('/saved-replies?groupId=0').set(auth(admin)).expect(400);

    // Another group's reply answers as a missing one; a global one is the admins'.
    await t.http().patch(`/saved-replies/${refund.body.id}`).set(sal).send({ text: 'No' }).expect(404);
    await t.http().delete(`/saved-replies/${refund.body.id}`).set(sal).expect(404);
    const [welcome] = (await t.http().get('/saved-replies').set(bea)).body.items.filter(
      (r: { name: string }) => r.name === 'Welcome',
    );
    await t.http().patch(`/saved-replies/${welcome.id}`).set(bea).send({ text: 'Hey' }).expect(403);
    await t
      .http()
      .patch(`/saved-replies/${refund.body.id}`)
      .set(bea)
      .send({ text: 'Refunded, {{customer.name}}.' })
      .expect(200);
  });

  it("writes a saved reply to the customer with its variables filled in and the operator's signature", async () => {
    const bea = auth(ops.billing.token);
    await t
      .http()
      .patch(`/operators/${ops.billing.id}`)
      .set(auth(admin))
      .send({ signature: 'Bea Baker\nBilling team' })
      .expect(200);
    await t
      .http()
      .patch(`/operators/${ops.billing.id}`)
      .set(auth(admin))
      .send({ signature: 'x'.repeat(2001) })
      .expect(400);
    const res = await postRaw(
      t,
      rawMail({ from: 'Ann Lee <ann@customer.test>', subject: 'Double charge', messageId: 'dc1@customer.test' }),
    );
    const requestId = res.body.results[0].requestId as number;
    await sql(t, `UPDATE requests SET group_id = $2 WHERE id = $1`, [requestId, groups.billing]);
    const reply = await t
      .http()
      .post('/saved-replies')
      .set(bea)
      .send({
        name: 'Charge',
        text: 'Hello {{customer.name}} ({{customer.email}}), about #{{request.id}} "{{request.subject}}": {{operator.name}} here.',
        groupId: groups.billing,
      })
      .expect(201);
    const sales = await t
      .http()
      .post('/saved-replies')
      .set(auth(admin))
      .send({ name: 'Offer', text: 'Buy more', groupId: groups.sales })
      .expect(201);
    await t.http().post(`/requests/${requestId}/messages`).set(bea).send({ savedReplyId: sales.body.id }).expect(404);
    await t.http().post(`/requests/${requestId}/messages`).set(bea).send({}).expect(400);

    const posted = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(bea)
      .send({ savedReplyId: reply.body.id, text: 'Refund is on its way.' })
      .expect(201);
    const expected =
      `Hello Ann Lee (ann@customer.test), about #${requestId} "Double charge": Bea here.\n\n` + 'Refund is on its way.';
    expect(posted.body.text).toBe(expected);
    const mail = await waitFor(async () =>
      sink.mails.find((m) => m.envelope.to.includes('ann@customer.test') && m.parsed.text?.includes('Refund is')),
    );
    expect(mail.parsed.text).toContain(expected);
    expect(mail.parsed.text).toMatch(/Refund is on its way\.\n\n-- \nBea Baker\nBilling team/);
    const [stored] = await sql<{ text: string }>(t, `SELECT text FROM messages WHERE id = $1`, [posted.body.id]);
    expect(stored.text).toBe(expected);
  });
});
