import type { MailboxRecord, MailboxState } from '../../src/mailboxes/mailbox';
import {
  addressesOf,
  type DefaultMailboxResult,
  type MailboxesStore,
  type MailboxSettings,
  type MailboxWriteResult,
  type PollerStatus,
  type SealedTokens,
} from '../../src/mailboxes/mailboxes.repository';

/**
 * An in-memory MailboxesStore for the unit tests of the mailbox rules (the same results as the
 * repository: addresses unique across mailboxes, versions bumped as the repository does).
 */
export class FakeMailboxesStore implements MailboxesStore {
  rows: MailboxRecord[] = [];
  groups = new Set<number>();
  probes = 0;
  private nextId = 1;

  async list(): Promise<MailboxRecord[]> {
    return this.rows.map((r) => ({ ...r }));
  }

  async get(id: number): Promise<MailboxRecord | null> {
    const r = this.rows.find((m) => m.id === id);
    return r ? { ...r } : null;
  }

  async probe(): Promise<string> {
    this.probes++;
    return `${this.rows.length}:${this.rows.reduce((s, r) => s + r.version, 0)}`;
  }

  async insert(settings: MailboxSettings): Promise<MailboxWriteResult> {
    const failure = this.check(settings, 0);
    if (failure) return failure;
    const now = new Date();
    const row: MailboxRecord = {
      id: this.nextId++,
      ...settings,
      isDefault: false,
      oauth2RefreshSecret: null,
      oauth2AccessSecret: null,
      oauth2AccessExpiresAt: null,
      state: 'active',
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
      backlog: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    this.rows.push(row);
    return { ok: true, mailbox: { ...row } };
  }

  async update(id: number, settings: MailboxSettings, resetTokens: boolean): Promise<MailboxWriteResult> {
    const row = this.rows.find((m) => m.id === id);
    if (!row) return { ok: false, reason: 'not_found' };
    const failure = this.check(settings, id);
    if (failure) return failure;
    Object.assign(row, settings, { version: row.version + 1 });
    if (resetTokens)
      Object.assign(row, { oauth2RefreshSecret: null, oauth2AccessSecret: null, oauth2AccessExpiresAt: null });
    return { ok: true, mailbox: { ...row } };
  }

  async setState(id: number, state: MailboxState, from?: readonly MailboxState[]): Promise<MailboxRecord | null> {
    const row = this.rows.find((m) => m.id === id);
    if (!row || row.state === state || (from && !from.includes(row.state))) return null;
    const bump = ['needs_reauthorization', 'disabled'].some((s) => s === row.state || s === state);
    row.state = state;
    if (bump) row.version++;
    return { ...row };
  }

  async recordPollerStatus(id: number, status: PollerStatus): Promise<void> {
    const row = this.rows.find((m) => m.id === id);
    if (!row) return;
    if (status.ok) {
      row.lastSuccessAt = status.at;
      if (row.state === 'error') row.state = 'active';
    } else {
      row.lastError = status.error;
      row.lastErrorAt = status.at;
      if (row.state === 'active') row.state = 'error';
    }
    if (status.backlog !== undefined && status.backlog !== null) row.backlog = status.backlog;
  }

  async storeOauth2Tokens(id: number, tokens: SealedTokens): Promise<MailboxRecord | null> {
    const row = this.rows.find((m) => m.id === id);
    if (!row) return null;
    if (tokens.refreshSecret !== undefined) row.oauth2RefreshSecret = tokens.refreshSecret;
    row.oauth2AccessSecret = tokens.accessSecret;
    row.oauth2AccessExpiresAt = tokens.accessExpiresAt;
    return { ...row };
  }

  async bumpVersion(id: number): Promise<void> {
    const row = this.rows.find((m) => m.id === id);
    if (row) row.version++;
  }

  async upsertDefault(address: string, name: string): Promise<DefaultMailboxResult> {
    let row = this.rows.find((m) => m.isDefault);
    if (!row) {
      const made = await this.insert({
        name,
        address,
        aliases: [],
        groupId: null,
        signature: null,
        imapUrl: null,
        imapSecret: null,
        smtpUrl: null,
        smtpSecret: null,
        oauth2: null,
        oauth2ClientSecret: null,
      });
      if (!made.ok) throw new Error('default address taken');
      row = this.rows.find((m) => m.id === made.mailbox.id)!;
      row.isDefault = true;
    } else if (row.address !== address || row.name !== name) {
      Object.assign(row, { address, name, version: row.version + 1 });
    }
    return { mailbox: { ...row }, conflicts: [] };
  }

  private check(settings: MailboxSettings, id: number): MailboxWriteResult | null {
    if (settings.groupId !== null && !this.groups.has(settings.groupId))
      return { ok: false, reason: 'group_not_found' };
    const others = new Set(this.rows.filter((m) => m.id !== id).flatMap((m) => addressesOf(m)));
    const taken = addressesOf(settings).filter((a) => others.has(a));
    return taken.length ? { ok: false, reason: 'address_taken', addresses: taken } : null;
  }
}
