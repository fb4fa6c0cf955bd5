import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, sql, waitFor } from '../setup/mail';
import { SmtpSink, type SinkMail } from '../setup/smtp-sink';

/**
 * Two mailboxes end to end (issue 18): the default one (support@, SUPPORT_ADDRESS and SMTP_URL) and
 * billing@ (alias invoices@) with its own SMTP server and password, each with its own group and
 * signature, each SMTP server a real smtp-server that takes only its own login. Mail comes in
 * through the webhook; the requests, the auto-replies and the operators' replies must belong to
 * and come from the right mailbox, through the right server; the two mailboxes never answer each
 * other; a mailbox that cannot send keeps its mail waiting.
 */
forEachDatabase('mailbox routing, identity and transport', (kind) => {
  let t: TestApp;
  let deskSmtp: SmtpSink;
  let billingSmtp: SmtpSink;
  let auth: { Authorization: string };
  let billingId: number;
  let supportGroup: number;
  let billingGroup: number;
  const alice = 'alice@customer.test';
  const bob = 'bob@customer.test';
  const billingUrl = (pass: string) => `smtp://billing-user:${pass}@127.0.0.1:${billingSmtp.port}`;

  /** A plain mail with the recipient headers given. */
  const mail = (o: { from: string; to: string; id: string; subject?: string; headers?: Record<string, string> }) =>
    Buffer.from(
      [
        `From: ${o.from}`,
        `To: ${o.to}`,
        `Subject: ${o.subject ?? 'Invoice 42 is wrong'}`,
        `Message-ID: <${o.id}>`,
        ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Hello.',
        '',
      ].join('\r\n'),
    );

  const requestRow = async (id: number) =>
    (
      await sql<{ mailbox_id: number | null; group_id: number | null }>(
        t,
        'SELECT mailbox_id, group_id FROM requests WHERE id = $1',
        [id],
      )
    )[0];
  const mailsTo = (sink: SmtpSink, to: string) => sink.mails.filter((m) => m.envelope.to.includes(to));
  const fromOf = (m: SinkMail) => m.parsed.from?.value[0];

  beforeAll(async () => {
    deskSmtp = await SmtpSink.start(0, { user: 'desk-user', pass: 'desk-secret' });
    billingSmtp = await SmtpSink.start(0, { user: 'billing-user', pass: 'billing-secret' });
    t = await createTestApp(
      {
        SMTP_URL: `smtp://desk-user:desk-secret@127.0.0.1:${deskSmtp.port}`,
        SUPPORT_NAME: 'Acme Support',
        OUTBOX_RETRY_BASE_MS: '100',
      },
      kind,
    );
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
    [{ id: supportGroup }, { id: billingGroup }] = await sql<{ id: number }>(
      t,
      `INSERT INTO groups (name) VALUES ('Support'), ('Billing') RETURNING id`,
    );
    const list = await t.http().get('/mailboxes').set(auth).expect(200);
    const support = list.body.items.find((m: { address: string }) => m.address === 'support@desk.test');
    await t
      .http()
      .patch(`/mailboxes/${support.id}`)
      .set(auth)
      .send({ groupId: supportGroup, signature: 'Acme Support\nhttps://help.desk.test' })
      .expect(200);
    const created = await t
      .http()
      .post('/mailboxes')
      .set(auth)
      .send({
        name: 'Acme Billing',
        address: 'billing@desk.test',
        aliases: ['invoices@desk.test'],
        groupId: billingGroup,
        smtpUrl: billingUrl('billing-secret'),
        signature: 'Acme Billing <billing@desk.test>',
      })
      .expect(201);
    billingId = created.body.id as number;
  });

  afterAll(async () => {
    await t?.close();
    await deskSmtp?.stop();
    await billingSmtp?.stop();
  });

  it('files mail to each mailbox in its own requests and group, answered From it through its own SMTP, signed', async () => {
    const toBilling = await postRaw(
      t,
      mail({ from: `Alice <${alice}>`, to: 'Billing <billing@desk.test>', id: 'a1@customer.test' }),
    );
    const toSupport = await postRaw(
      t,
      mail({ from: `Bob <${bob}>`, to: 'support@desk.test', id: 'b1@customer.test', subject: 'Printer' }),
    );
    expect(toBilling.body.results[0].status).toBe('created');
    expect(toSupport.body.results[0].status).toBe('created');
    const billingRequest = toBilling.body.results[0].requestId as number;
    const supportRequest = toSupport.body.results[0].requestId as number;
    await expect(requestRow(billingRequest)).resolves.toEqual({ mailbox_id: billingId, group_id: billingGroup });
    await expect(requestRow(supportRequest)).resolves.toEqual({ mailbox_id: null, group_id: supportGroup });

    await waitFor(async () => mailsTo(billingSmtp, alice).length === 1 && mailsTo(deskSmtp, bob).length === 1);
    const [billingAck] = mailsTo(billingSmtp, alice);
    expect(fromOf(billingAck)).toEqual({ address: 'billing@desk.test', name: 'Acme Billing' });
    expect(billingAck.envelope.from).toBe('billing@desk.test');
    expect(billingAck.user).toBe('billing-user');
    expect(billingAck.parsed.text).toContain('-- \nAcme Billing <billing@desk.test>');
    expect(billingAck.parsed.html).toContain('Acme Billing &lt;billing@desk.test&gt;');
    expect(billingAck.parsed.headers.get('x-loop')).toBe('billing@desk.test');
    expect(billingAck.parsed.messageId).toMatch(/^<md-.+@desk\.test>$/);
    const [supportAck] = mailsTo(deskSmtp, bob);
    expect(fromOf(supportAck)).toEqual({ address: 'support@desk.test', name: 'Acme Support' });
    expect(supportAck.envelope.from).toBe('support@desk.test');
    expect(supportAck.user).toBe('desk-user');
    expect(supportAck.parsed.text).toContain('-- \nAcme Support\nhttps://help.desk.test');
    expect(mailsTo(deskSmtp, alice)).toHaveLength(0);
    expect(mailsTo(billingSmtp, bob)).toHaveLength(0);
    const rows = await sql<{ mailbox_id: number | null; to_address: string }>(
      t,
      'SELECT mailbox_id, to_address FROM outbox ORDER BY id',
    );
    expect(rows).toEqual([
      { mailbox_id: billingId, to_address: alice },
      { mailbox_id: null, to_address: bob },
    ]);

    // Taking it, an operator's reply, closing with the rating links: From billing, through billing's server.
    await t.http().post(`/requests/${billingRequest}/assign`).set(auth).send({}).expect(200);
    await t.http().post(`/requests/${billingRequest}/messages`).set(auth).send({ text: 'Corrected.' }).expect(201);
    await t.http().post(`/requests/${billingRequest}/close`).set(auth).expect(200);
    await waitFor(async () => mailsTo(billingSmtp, alice).length === 4);
    // The dispatcher sends several mails at once: they may arrive in any order.
    const later = mailsTo(billingSmtp, alice).slice(1);
    const reply = later.find((m) => (m.parsed.text ?? '').includes('Corrected.'))!;
    const closing = later.find((m) => /feedback/.test(m.parsed.text ?? ''))!;
    const assigned = later.find((m) => m !== reply && m !== closing)!;
    expect(fromOf(assigned)?.address).toBe('billing@desk.test');
    expect(fromOf(reply)?.address).toBe('billing@desk.test');
    expect(reply.parsed.text).toContain('Corrected.');
    expect(reply.parsed.text).toContain('-- \nAcme Billing');
    expect(fromOf(closing)?.address).toBe('billing@desk.test');
    expect(closing.parsed.text).toMatch(/feedback/);
    expect(mailsTo(deskSmtp, alice)).toHaveLength(0);
  });

  it("routes by Delivered-To before To, and matches the customer's open request within the mailbox only", async () => {
    const carol = 'carol@customer.test';
    const first = await postRaw(
      t,
      mail({
        from: carol,
        to: 'support@desk.test',
        id: 'c1@customer.test',
        headers: { 'Delivered-To': 'invoices@desk.test' },
      }),
    );
    const billingRequest = first.body.results[0].requestId as number;
    await expect(requestRow(billingRequest)).resolves.toMatchObject({ mailbox_id: billingId });
    await waitFor(async () => mailsTo(billingSmtp, carol).length === 1);
    const ack = mailsTo(billingSmtp, carol)[0].parsed.messageId!;

    // The same customer writes to support@: a request of its own there, not her billing one.
    const second = await postRaw(t, mail({ from: carol, to: 'support@desk.test', id: 'c2@customer.test' }));
    expect(second.body.results[0]).toMatchObject({ status: 'created' });
    await expect(requestRow(second.body.results[0].requestId as number)).resolves.toMatchObject({ mailbox_id: null });

    // Her reply to the billing acknowledgement, sent to support@, lands in the billing request.
    const reply = await postRaw(
      t,
      mail({ from: carol, to: 'support@desk.test', id: 'c3@customer.test', headers: { 'In-Reply-To': ack } }),
    );
    expect(reply.body.results[0]).toMatchObject({ status: 'appended', requestId: billingRequest });
  });

  it('never lets two of our mailboxes answer each other', async () => {
    const before = await sql<{ n: number }>(t, 'SELECT count(*)::int AS n FROM outbox');
    const requests = await sql<{ n: number }>(t, 'SELECT count(*)::int AS n FROM requests');
    // billing's auto-reply reaching support@, and support@ writing to billing@ (alias) by hand.
    const autoReply = await postRaw(
      t,
      mail({
        from: '"Acme Billing" <billing@desk.test>',
        to: 'support@desk.test',
        id: 'loop1@elsewhere.test',
        headers: { 'Auto-Submitted': 'auto-replied', 'X-Loop': 'billing@desk.test' },
      }),
    );
    const byHand = await postRaw(
      t,
      mail({ from: 'Acme Support <support@desk.test>', to: 'invoices@desk.test', id: 'loop2@elsewhere.test' }),
    );
    expect(autoReply.body.results[0]).toMatchObject({
      status: 'ignored',
      requestId: null,
      reason: 'own mail: sent from our mailbox billing@desk.test',
    });
    expect(byHand.body.results[0]).toMatchObject({
      status: 'ignored',
      reason: 'own mail: sent from the support address',
    });
    await expect(sql(t, 'SELECT count(*)::int AS n FROM outbox')).resolves.toEqual(before);
    await expect(sql(t, 'SELECT count(*)::int AS n FROM requests')).resolves.toEqual(requests);
  });

  it('keeps the mail of a mailbox that needs re-authorization waiting, and sends it once the mailbox is back', async () => {
    const dave = 'dave@customer.test';
    await sql(t, `UPDATE mailboxes SET state = 'needs_reauthorization', version = version + 1 WHERE id = $1`, [
      billingId,
    ]);
    // The directory sees the change within seconds (its probe); until then mail may still go out.
    await new Promise((r) => setTimeout(r, 5000));
    await postRaw(t, mail({ from: dave, to: 'billing@desk.test', id: 'd1@customer.test' }));
    const waiting = await waitFor(async () => {
      const [row] = await sql<{ status: string; attempts: number; last_error: string | null }>(
        t,
        'SELECT status, attempts, last_error FROM outbox WHERE to_address = $1',
        [dave],
      );
      return row?.last_error?.startsWith('waiting:') && row;
    });
    expect(waiting).toMatchObject({ status: 'pending', attempts: 0 });
    expect(mailsTo(billingSmtp, dave)).toHaveLength(0);

    await sql(t, `UPDATE mailboxes SET state = 'active', version = version + 1 WHERE id = $1`, [billingId]);
    await waitFor(async () => mailsTo(billingSmtp, dave).length === 1, 15_000);
    const [sent] = await sql(t, 'SELECT status, attempts FROM outbox WHERE to_address = $1', [dave]);
    expect(sent).toEqual({ status: 'sent', attempts: 1 });
  });

  it('retries a mail whose login its server refused (535), and sends it with the new password', async () => {
    const erin = 'erin@customer.test';
    await t
      .http()
      .patch(`/mailboxes/${billingId}`)
      .set(auth)
      .send({ smtpUrl: billingUrl('wrong') })
      .expect(200);
    await postRaw(t, mail({ from: erin, to: 'billing@desk.test', id: 'e1@customer.test' }));
    const refused = await waitFor(async () => {
      const [row] = await sql<{ status: string; last_error: string | null }>(
        t,
        'SELECT status, last_error FROM outbox WHERE to_address = $1',
        [erin],
      );
      return row?.last_error?.startsWith('EAUTH') && row;
    });
    expect(refused.status).toBe('pending');
    expect(billingSmtp.refusedLogins).toContain('billing-user');

    await t
      .http()
      .patch(`/mailboxes/${billingId}`)
      .set(auth)
      .send({ smtpUrl: billingUrl('billing-secret') })
      .expect(200);
    await waitFor(async () => mailsTo(billingSmtp, erin).length === 1, 15_000);
    expect(mailsTo(billingSmtp, erin)[0].user).toBe('billing-user');
  });
});
