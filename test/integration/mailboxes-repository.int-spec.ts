import { MailboxDirectoryService } from '../../src/mailboxes/mailbox-directory.service';
import { MailboxesRepository, type MailboxSettings } from '../../src/mailboxes/mailboxes.repository';
import { createTestDatabase, forEachDatabase, TestDatabase } from '../setup/database';

function settings(over: Partial<MailboxSettings> = {}): MailboxSettings {
  return {
    name: 'Billing',
    address: 'billing@desk.test',
    aliases: [],
    groupId: null,
    signature: null,
    imapUrl: 'imap://billing%40desk.test@mail.test:143/INBOX',
    imapSecret: 'v1.k.iv.tag.ct',
    smtpUrl: null,
    smtpSecret: null,
    oauth2: null,
    oauth2ClientSecret: null,
    ...over,
  };
}

const config = {
  mail: { supportAddress: 'support@desk.test', supportName: 'Desk' },
  imap: { url: 'imap://support%40desk.test:secret@mail.test:143/INBOX' },
  smtp: { url: undefined },
  workers: false,
} as unknown as ConstructorParameters<typeof MailboxDirectoryService>[1];

forEachDatabase('the mailboxes repository and directory', (kind) => {
  let db: TestDatabase;
  let repo: MailboxesRepository;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    repo = new MailboxesRepository(db.dataSource);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('creates the default mailbox once, and follows SUPPORT_ADDRESS without losing its id', async () => {
    const first = await repo.upsertDefault('support@desk.test', 'Desk');
    const again = await repo.upsertDefault('support@desk.test', 'Desk');
    expect(again.mailbox.id).toBe(first.mailbox.id);
    expect(again.mailbox.version).toBe(first.mailbox.version);
    const moved = await repo.upsertDefault('help@desk.test', 'Desk');
    expect(moved.mailbox.id).toBe(first.mailbox.id);
    expect(moved.mailbox.version).toBeGreaterThan(first.mailbox.version);
    expect(moved.conflicts).toEqual([]);
    const back = await repo.upsertDefault('support@desk.test', 'Desk');
    expect(back.mailbox.isDefault).toBe(true);
    const rows: { address: string }[] = await db.dataSource.query(
      `SELECT address FROM mailbox_addresses WHERE mailbox_id = $1`,
      [first.mailbox.id],
    );
    expect(rows.map((r) => r.address)).toEqual(['support@desk.test']);
  });

  it('inserts a mailbox with its addresses, and answers address_taken for any taken one', async () => {
    const made = await repo.insert(settings({ aliases: ['pay@desk.test', 'Billing@desk.test'] }));
    expect(made.ok).toBe(true);
    if (!made.ok) return;
    expect(made.mailbox).toMatchObject({ name: 'Billing', state: 'active', isDefault: false, version: 1 });
    const taken = await repo.insert(settings({ address: 'other@desk.test', aliases: ['PAY@desk.test'.toLowerCase()] }));
    expect(taken).toEqual({ ok: false, reason: 'address_taken', addresses: ['pay@desk.test'] });
    const taken2 = await repo.insert(settings({ address: 'support@desk.test' }));
    expect(taken2).toMatchObject({ ok: false, reason: 'address_taken' });
    expect(await repo.list()).toHaveLength(2); // the failed inserts left nothing
    expect(await repo.insert(settings({ address: 'g@desk.test', groupId: 9999 }))).toEqual({
      ok: false,
      reason: 'group_not_found',
    });
  });

  it('updates settings and addresses, bumping the version; poller reports do not', async () => {
    const [, billing] = await repo.list();
    const probe = await repo.probe();
    const updated = await repo.update(billing.id, settings({ name: 'Money', aliases: ['cash@desk.test'] }), false);
    expect(updated).toMatchObject({ ok: true, mailbox: { name: 'Money', version: billing.version + 1 } });
    expect(await repo.probe()).not.toBe(probe);
    // pay@ is free again
    expect((await repo.insert(settings({ address: 'pay@desk.test', aliases: [] }))).ok).toBe(true);
    expect(await repo.update(99999, settings({ address: 'x@desk.test' }), false)).toEqual({
      ok: false,
      reason: 'not_found',
    });

    const before = await repo.probe();
    await repo.recordPollerStatus(billing.id, { ok: false, at: new Date(), error: 'boom', backlog: 3 });
    let row = await repo.get(billing.id);
    expect(row).toMatchObject({ state: 'error', lastError: 'boom', backlog: 3 });
    await repo.recordPollerStatus(billing.id, { ok: true, at: new Date(), backlog: 0 });
    row = await repo.get(billing.id);
    expect(row).toMatchObject({ state: 'active', backlog: 0 });
    expect(row!.lastSuccessAt).toBeInstanceOf(Date);
    await repo.storeOauth2Tokens(billing.id, { refreshSecret: 'r', accessSecret: 'a', accessExpiresAt: new Date() });
    expect(await repo.get(billing.id)).toMatchObject({ oauth2RefreshSecret: 'r', oauth2AccessSecret: 'a' });
    await repo.storeOauth2Tokens(billing.id, { accessSecret: null, accessExpiresAt: null });
    expect(await repo.get(billing.id)).toMatchObject({ oauth2RefreshSecret: 'r', oauth2AccessSecret: null });
    expect(await repo.probe()).toBe(before);
  });

  it('bumps the version for moves to and from needs_reauthorization and disabled only', async () => {
    const [, billing] = await repo.list();
    const v = billing.version;
    expect((await repo.setState(billing.id, 'error'))!.version).toBe(v);
    expect((await repo.setState(billing.id, 'needs_reauthorization'))!.version).toBe(v + 1);
    expect(await repo.setState(billing.id, 'needs_reauthorization')).toBeNull();
    expect(await repo.setState(billing.id, 'active', ['disabled'])).toBeNull();
    expect((await repo.setState(billing.id, 'active'))!.version).toBe(v + 2);
    // a poller's error does not overwrite needs_reauthorization
    await repo.setState(billing.id, 'needs_reauthorization');
    await repo.recordPollerStatus(billing.id, { ok: false, at: new Date(), error: 'x' });
    expect((await repo.get(billing.id))!.state).toBe('needs_reauthorization');
    await repo.setState(billing.id, 'active');
  });

  it('the directory routes by address and alias, knows every own address, and hears of changes', async () => {
    const directory = new MailboxDirectoryService(repo, config);
    const [def, billing] = await directory.all();
    expect(def.isDefault).toBe(true);
    expect(def.imapUrl).toBe('imap://support%40desk.test@mail.test:143/INBOX');
    expect((await directory.defaultMailbox()).id).toBe(def.id);
    expect((await directory.forRecipients(['nobody@x.test', 'CASH@desk.test'])).id).toBe(billing.id);
    expect((await directory.forRecipients(['nobody@x.test'])).id).toBe(def.id);
    expect(await directory.ownAddresses()).toEqual(
      new Set(['support@desk.test', 'billing@desk.test', 'cash@desk.test', 'pay@desk.test']),
    );
    let heard = 0;
    const off = directory.onChange(() => heard++);
    await directory.tick();
    expect(heard).toBe(0);
    await repo.setState(billing.id, 'disabled');
    await directory.tick();
    expect(heard).toBe(1);
    expect((await directory.forRecipients(['billing@desk.test'])).id).toBe(def.id);
    expect((await directory.ownAddresses()).has('billing@desk.test')).toBe(true);
    off();
    await repo.setState(billing.id, 'active');
    await directory.changed();
    expect(heard).toBe(1);
    expect((await directory.get(billing.id))!.state).toBe('active');
    await directory.onModuleDestroy();
  });
});
