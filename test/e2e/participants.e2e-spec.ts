import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, sql, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

/** A plain text mail with the header lines given (From, To, Cc, ...). */
function mail(lines: string[], text = 'Hello.'): Buffer {
  return Buffer.from(
    [
      ...lines,
      'Date: Wed, 25 Nov 2026 09:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text,
      '',
    ].join('\r\n'),
  );
}

/**
 * Participants, Cc and Bcc (issue 20 item 1) through the inbound webhook and a real SMTP sink: the
 * To/Cc of the customer's mail become participants (never Bcc), operator mail Cc's them by default,
 * cc/bcc override it, and a participant's reply threads into the request while a stranger's does not.
 */
forEachDatabase('participants, Cc and Bcc', (kind) => {
  let t: TestApp;
  let sink: SmtpSink;
  let auth: { Authorization: string };
  let requestId: number;
  const alice = 'alice@customer.test';
  const bob = 'bob@customer.test';
  const carol = 'carol@customer.test';

  const header = (m: SmtpSink['mails'][number], name: string) => m.parsed.headers.get(name);
  const sent = (messageId: string) =>
    waitFor(async () => sink.mails.find((m) => m.parsed.messageId === `<${messageId}>`), 20_000);
  const post = (body: Record<string, unknown>) => t.http().post(`/requests/${requestId}/messages`).set(auth).send(body);

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url, OUTBOX_RETRY_BASE_MS: '100' }, kind);
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it("makes the To and Cc of the customer's mail that are not ours participants, never the Bcc", async () => {
    const res = await postRaw(
      t,
      mail([
        `From: Alice <${alice}>`,
        'To: MailDesk <support@desk.test>, Carol@Customer.test',
        `Cc: Bob Colleague <${bob}>, support@desk.test, ${alice}`,
        'Bcc: hidden@customer.test',
        'Subject: Printer on fire',
        'Message-ID: <p1@customer.test>',
      ]),
    ).expect(200);
    expect(res.body.results[0].status).toBe('created');
    requestId = res.body.results[0].requestId as number;
    const got = await t.http().get(`/requests/${requestId}`).set(auth).expect(200);
    expect(got.body.participants).toEqual([
      { email: carol, name: null },
      { email: bob, name: 'Bob Colleague' },
    ]);
    const events = await t.http().get(`/requests/${requestId}/events`).set(auth).expect(200);
    const added = events.body.items.find((e: { type: string }) => e.type === 'participants_added');
    expect(added).toMatchObject({ actor: 'customer', data: { emails: [carol, bob] } });
    // The creation auto-reply goes to the customer only.
    const autoReply = await waitFor(async () => sink.mails.find((m) => m.envelope.to.includes(alice)), 20_000);
    expect(autoReply.envelope.to).toEqual([alice]);
    expect(header(autoReply, 'cc')).toBeUndefined();
  });

  it('sends operator mail to the customer with the participants in Cc, and no Bcc header', async () => {
    const posted = await post({ text: 'Fire brigade is on the way.' }).expect(201);
    expect(posted.body).toMatchObject({ to: [alice], cc: [carol, bob], bcc: [] });
    const m = await sent(posted.body.messageId);
    expect([...m.envelope.to].sort()).toEqual([alice, bob, carol].sort());
    const cc = m.parsed.cc as { value: Array<{ address: string; name: string }> };
    expect(cc.value.map((a) => a.address)).toEqual([carol, bob]);
    expect(cc.value[1].name).toBe('Bob Colleague');
    expect(m.raw.toString('latin1')).not.toMatch(/^bcc:/im);
    const [row] = await sql<{ cc_addresses: string[]; bcc_addresses: string[] }>(
      t,
      `SELECT cc_addresses, bcc_addresses FROM outbox WHERE message_id = $1`,
      [posted.body.id],
    );
    expect(row).toEqual({ cc_addresses: [carol, bob], bcc_addresses: [] });
  });

  it('sends to the customer only with cc: []', async () => {
    const posted = await post({ text: 'Just you.', cc: [] }).expect(201);
    expect(posted.body.cc).toEqual([]);
    const m = await sent(posted.body.messageId);
    expect(m.envelope.to).toEqual([alice]);
    expect(header(m, 'cc')).toBeUndefined();
  });

  it('puts a Bcc in the envelope and on the message, never in the header', async () => {
    const posted = await post({ text: 'Audited.', cc: [], bcc: ['Audit@X.test'] }).expect(201);
    expect(posted.body).toMatchObject({ cc: [], bcc: ['audit@x.test'] });
    const m = await sent(posted.body.messageId);
    expect([...m.envelope.to].sort()).toEqual([alice, 'audit@x.test']);
    expect(m.raw.toString('latin1')).not.toMatch(/audit@x\.test/i);
    const one = await t.http().get(`/requests/${requestId}/messages/${posted.body.id}`).set(auth).expect(200);
    expect(one.body.bcc).toEqual(['audit@x.test']);
    const [p] = await sql(t, `SELECT 1 FROM request_participants WHERE email = 'audit@x.test'`);
    expect(p).toBeUndefined();
  });

  it('refuses our own addresses, the customer, duplicates and bad addresses in cc and bcc', async () => {
    const own = await post({ text: 'x', cc: ['support@desk.test'] }).expect(400);
    expect(JSON.stringify(own.body.message)).toMatch(/our own address/);
    await post({ text: 'x', bcc: ['SUPPORT@desk.test'] }).expect(400);
    await post({ text: 'x', cc: [alice] }).expect(400);
    await post({ text: 'x', cc: [bob, 'BOB@customer.test'] }).expect(400);
    await post({ text: 'x', cc: ['not an address'] }).expect(400);
    await post({ text: 'x', cc: [bob], bcc: [bob] }).expect(400);
    await post({ text: 'x', bcc: [bob] }).expect(400); // bob is in Cc by default
    await post({ text: 'x', cc: Array.from({ length: 51 }, (_, i) => `p${i}@x.test`) }).expect(400);
    await post({ text: 'x', cc: 'bob@customer.test' }).expect(201); // a string is one list
  });

  it("makes an address an operator Cc'd a participant; multipart takes comma-separated cc", async () => {
    const res = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth)
      .field('text', 'With Dave.')
      .field('cc', `${bob}, dave@customer.test`)
      .expect(201);
    expect(res.body.cc).toEqual([bob, 'dave@customer.test']);
    const m = await sent(res.body.messageId);
    expect([...m.envelope.to].sort()).toEqual([alice, bob, 'dave@customer.test']);
    const got = await t.http().get(`/requests/${requestId}`).set(auth).expect(200);
    expect(got.body.participants.map((p: { email: string }) => p.email)).toEqual([carol, bob, 'dave@customer.test']);
    const events = await t.http().get(`/requests/${requestId}/events`).set(auth).expect(200);
    expect(events.body.items).toContainEqual(
      expect.objectContaining({
        type: 'participants_added',
        actor: 'operator',
        data: { emails: ['dave@customer.test'] },
      }),
    );
  });

  it("threads a participant's reply into the request as customer mail; a stranger's and a Bcc's open their own", async () => {
    const [ours] = await sql<{ message_id: string }>(
      t,
      `SELECT message_id FROM messages WHERE request_id = $1 AND kind = 'operator' ORDER BY seq LIMIT 1`,
      [requestId],
    );
    const reply = (from: string, id: string) =>
      postRaw(
        t,
        mail([
          `From: ${from}`,
          'To: support@desk.test',
          'Subject: Re: Printer on fire',
          `Message-ID: <${id}>`,
          `In-Reply-To: <${ours.message_id}>`,
          `References: <p1@customer.test> <${ours.message_id}>`,
        ]),
      ).expect(200);
    const fromBob = await reply(`Bob Colleague <${bob}>`, 'bob1@customer.test');
    expect(fromBob.body.results[0]).toMatchObject({ status: 'appended', requestId });
    const [m] = await sql<{ kind: string; from_address: string }>(
      t,
      `SELECT kind, from_address FROM messages WHERE message_id = 'bob1@customer.test'`,
    );
    expect(m).toEqual({ kind: 'customer', from_address: bob });

    const stranger = await reply('eve@elsewhere.test', 'eve1@elsewhere.test');
    expect(stranger.body.results[0].status).toBe('created');
    expect(stranger.body.results[0].requestId).not.toBe(requestId);
    const audit = await reply('audit@x.test', 'audit1@x.test');
    expect(audit.body.results[0].status).toBe('created');
    expect(audit.body.results[0].requestId).not.toBe(requestId);
  });

  it('lets an operator replace the participants, refusing our own addresses and the customer', async () => {
    const put = (participants: unknown) =>
      t.http().put(`/requests/${requestId}/participants`).set(auth).send({ participants });
    const res = await put([{ email: 'Carol@customer.test', name: 'Carol' }, { email: 'erin@customer.test' }]).expect(
      200,
    );
    expect(res.body.participants).toEqual([
      { email: carol, name: 'Carol' },
      { email: 'erin@customer.test', name: null },
    ]);
    expect(res.body.id).toBe(requestId);
    await put([{ email: 'support@desk.test' }]).expect(400);
    await put([{ email: alice }]).expect(400);
    await put([{ email: bob }, { email: 'BOB@customer.test' }]).expect(400);
    await put(Array.from({ length: 51 }, (_, i) => ({ email: `p${i}@x.test` }))).expect(400);
    await put([{ email: 'nope' }]).expect(400);
    await t.http().put(`/requests/999999/participants`).set(auth).send({ participants: [] }).expect(404);
    const events = await t.http().get(`/requests/${requestId}/events`).set(auth).expect(200);
    expect(events.body.items).toContainEqual(
      expect.objectContaining({
        type: 'participants_changed',
        data: { added: ['erin@customer.test'], removed: [bob, 'dave@customer.test'] },
      }),
    );
    // Bob is no participant now, but he wrote into the request before: his mail still threads there.
    const [ours] = await sql<{ message_id: string }>(
      t,
      `SELECT message_id FROM messages WHERE request_id = $1 AND kind = 'operator' ORDER BY seq LIMIT 1`,
      [requestId],
    );
    const again = await postRaw(
      t,
      mail([
        `From: ${bob}`,
        'To: support@desk.test',
        'Subject: Re: x',
        'Message-ID: <bob2@customer.test>',
        `In-Reply-To: <${ours.message_id}>`,
      ]),
    ).expect(200);
    expect(again.body.results[0]).toMatchObject({ status: 'appended', requestId });
  });

  it('bounds a hostile mail with 10,000 Cc addresses: 50 participants, the rest left out with an event', async () => {
    // Ten to a folded line: the parser's header caps (limits.ts) let 10,000 short addresses through.
    const cc = Array.from({ length: 1_000 }, (_, l) =>
      Array.from({ length: 10 }, (_, i) => `x${l * 10 + i}@c.test`).join(', '),
    );
    const started = Date.now();
    const res = await postRaw(
      t,
      mail([
        'From: mallory@crowd.test',
        'To: support@desk.test',
        `Cc: ${cc.join(',\r\n ')}`,
        'Subject: Everyone',
        'Message-ID: <crowd1@crowd.test>',
      ]),
    ).expect(200);
    expect(res.body.results[0].status).toBe('created');
    expect(Date.now() - started).toBeLessThan(60_000);
    const id = res.body.results[0].requestId as number;
    const [n] = await sql<{ n: number }>(
      t,
      `SELECT count(*)::int AS n FROM request_participants WHERE request_id = $1`,
      [id],
    );
    expect(n.n).toBe(50);
    const events = await t.http().get(`/requests/${id}/events`).set(auth).expect(200);
    const added = events.body.items.find((e: { type: string }) => e.type === 'participants_added');
    expect(added.data.emails).toHaveLength(50);
    expect(added.data.ignored).toBe(9_950);
  }, 90_000);
});
