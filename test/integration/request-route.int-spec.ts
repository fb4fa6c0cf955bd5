import { RequestsRepository } from '../../src/requests/requests.repository';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../setup/database';

/**
 * Requests opened from inbound mail in a mailbox and group (issue 18), on both databases: one
 * open request per customer AND mailbox, the default mailbox stored as NULL whether named by NULL
 * or by its id, and the callers that name no mailbox served as before.
 */
forEachDatabase('requests: mailbox and group at creation', (kind) => {
  let db: TestDatabase;
  let repo: RequestsRepository;
  let customerId: number;
  let defaultId: number;
  let billingId: number;
  let groupId: number;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    repo = new RequestsRepository(db.dataSource);
    const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);
    [{ id: defaultId }] = await q(
      `INSERT INTO mailboxes (name, address, is_default) VALUES ('Support', 'support@example.com', true) RETURNING id`,
    );
    [{ id: billingId }] = await q(
      `INSERT INTO mailboxes (name, address) VALUES ('Billing', 'billing@example.com') RETURNING id`,
    );
    [{ id: groupId }] = await q(`INSERT INTO groups (name) VALUES ('Billing') RETURNING id`);
    customerId = (await repo.upsertCustomer('ann@example.com', 'Ann')).id;
  });
  afterAll(() => db?.drop());

  const stored = async (id: number) => {
    const rows: Array<{ mailbox_id: number | null; group_id: number | null }> = await db.dataSource.query(
      `SELECT mailbox_id, group_id FROM requests WHERE id = $1`,
      [id],
    );
    return rows[0];
  };

  it('keeps one open request per customer and mailbox; the default mailbox by NULL or by its id is one', async () => {
    const support = await repo.insertOpen(customerId, 'Printer', null, undefined, {
      mailboxId: defaultId,
      groupId: null,
    });
    expect(support).not.toBeNull();
    await expect(stored(support!.id)).resolves.toEqual({ mailbox_id: null, group_id: null });
    await expect(
      repo.insertOpen(customerId, 'Again', null, undefined, { mailboxId: null, groupId: null }),
    ).resolves.toBeNull();
    await expect(repo.insertOpen(customerId, 'Again', null)).resolves.toBeNull();

    const billing = await repo.insertOpen(customerId, 'Invoice', null, undefined, { mailboxId: billingId, groupId });
    expect(billing).not.toBeNull();
    await expect(stored(billing!.id)).resolves.toEqual({ mailbox_id: billingId, group_id: groupId });
    await expect(
      repo.insertOpen(customerId, 'Again', null, undefined, { mailboxId: billingId, groupId }),
    ).resolves.toBeNull();

    await db.dataSource.transaction(async (manager) => {
      await expect(repo.findOpenForCustomer(customerId, manager, billingId)).resolves.toBe(billing!.id);
      await expect(repo.findOpenForCustomer(customerId, manager, null)).resolves.toBe(support!.id);
      await expect(repo.findOpenForCustomer(customerId, manager, defaultId)).resolves.toBe(support!.id);
      await expect(repo.findOpenForCustomer(customerId, manager)).resolves.not.toBeNull();
    });
  });
});
