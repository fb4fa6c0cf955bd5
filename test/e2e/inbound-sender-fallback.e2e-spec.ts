import { InboundMailService } from '../../src/inbound-mail/inbound-mail.service';
import { createTestApp, TestApp } from '../setup/app';
import { fixture, postRaw, rawMail, sql } from '../setup/mail';

/**
 * Mail without a usable From (no header, `From: [??????]`, a display name alone) is not
 * quarantined: the sender is taken from Sender, Reply-To, Return-Path, then the envelope, and the
 * message says which (`senderSource`).
 */
describe('inbound sender fallback', () => {
  let t: TestApp;
  const RUN = Date.now().toString(36);
  let auth: { Authorization: string };

  beforeAll(async () => {
    t = await createTestApp();
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = async (name: string) => {
    const res = await postRaw(t, fixture(`sender/${name}`, { RUN }));
    expect(res.status).toBe(200);
    return res.body.results[0] as { status: string; requestId: number | null; reason: string | null };
  };
  /** The request's customer and its first message as the API shows them. */
  const customerAndMessage = async (requestId: number) => {
    const req = await t.http().get(`/requests/${requestId}`).set(auth).expect(200);
    const msgs = await t.http().get(`/requests/${requestId}/messages`).set(auth).expect(200);
    const first = (msgs.body.items as Array<{ from: string; fromName: string | null; senderSource: string | null }>)[0];
    return { customer: req.body.customer as { email: string; name: string | null }, first };
  };

  it('takes the sender from From when it has an address, and says so', async () => {
    const res = await postRaw(
      t,
      rawMail({ from: `Fran <fran.${RUN}@customer.test>`, subject: 'Plain', messageId: `plain.${RUN}@customer.test` }),
    );
    const r = res.body.results[0];
    expect(r.status).toBe('created');
    const { customer, first } = await customerAndMessage(r.requestId);
    expect(customer.email).toBe(`fran.${RUN}@customer.test`);
    expect(first).toMatchObject({ from: `fran.${RUN}@customer.test`, senderSource: 'from' });
  });

  it('falls back to Sender when there is no From header', async () => {
    const r = await post('no-from-uses-sender.eml');
    expect(r.status).toBe('created');
    const { customer, first } = await customerAndMessage(r.requestId!);
    expect(customer).toMatchObject({ email: `sam.${RUN}@customer.test`, name: 'Sam Sender' });
    expect(first).toMatchObject({ from: `sam.${RUN}@customer.test`, senderSource: 'sender' });
  });

  it('falls back to Reply-To (before Return-Path) when From holds no address', async () => {
    const r = await post('garbled-from-uses-reply-to.eml');
    expect(r.status).toBe('created');
    const { customer, first } = await customerAndMessage(r.requestId!);
    expect(customer).toMatchObject({ email: `rita.${RUN}@customer.test`, name: 'Рита' });
    expect(first).toMatchObject({ from: `rita.${RUN}@customer.test`, senderSource: 'reply-to' });
  });

  it("falls back to Return-Path, keeping From's display name", async () => {
    const r = await post('name-only-from-uses-return-path.eml');
    expect(r.status).toBe('created');
    const { customer, first } = await customerAndMessage(r.requestId!);
    expect(customer).toMatchObject({ email: `paul.${RUN}@customer.test`, name: 'Paul Example' });
    expect(first).toMatchObject({ from: `paul.${RUN}@customer.test`, senderSource: 'return-path' });
  });

  it('falls back to the envelope sender (the mbox `From ` line) when no header has one', async () => {
    const inbound = t.app.get(InboundMailService);
    const r = await inbound.ingest(fixture('sender/no-from-envelope-only.eml', { RUN }), 'cli', {
      history: true,
      envelopeFrom: `Eve.${RUN}@customer.test`,
    });
    expect(r.status).toBe('created');
    const { customer, first } = await customerAndMessage(r.requestId!);
    expect(customer.email).toBe(`eve.${RUN}@customer.test`);
    expect(first).toMatchObject({ from: `eve.${RUN}@customer.test`, senderSource: 'envelope' });
  });

  it('still quarantines mail with no usable address anywhere, with its reason', async () => {
    const r = await post('no-address-anywhere-is-quarantined.eml');
    expect(r.status).toBe('quarantined');
    expect(r.reason).toMatch(/^no sender address in From/);
    const [row] = await sql<{ status: string; reason: string }>(
      t,
      `SELECT status, reason FROM inbound_mail WHERE message_id = $1`,
      [`no-address.${RUN}@customer.test`],
    );
    expect(row).toMatchObject({ status: 'quarantined', reason: r.reason });
    // The same mail without an envelope sender through the CLI is quarantined too.
    const inbound = t.app.get(InboundMailService);
    const again = await inbound.ingest(fixture('sender/no-from-envelope-only.eml', { RUN: `${RUN}x` }), 'cli');
    expect(again.status).toBe('quarantined');
  });
});
