import type { MailboxDirectory, MailboxRecord } from '../../src/mailboxes/mailbox';

/** A mailbox row with what a test sets (active, no servers, no secrets). */
export function mailboxRecord(o: Partial<MailboxRecord> & { id: number; address: string }): MailboxRecord {
  const now = new Date();
  return {
    name: `Mailbox ${o.id}`,
    aliases: [],
    groupId: null,
    signature: null,
    isDefault: false,
    imapUrl: null,
    imapSecret: null,
    smtpUrl: null,
    smtpSecret: null,
    oauth2: null,
    oauth2ClientSecret: null,
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
    ...o,
  };
}

/**
 * MailboxDirectory over a list in memory, for the unit tests of routing, the loop guard and the
 * outgoing identity: the first mailbox marked isDefault (else the first) is the default; a disabled
 * mailbox's addresses route to the default (as MailboxDirectoryService does).
 */
export class MemoryMailboxDirectory implements MailboxDirectory {
  private readonly listeners = new Set<() => void>();
  constructor(public mailboxes: MailboxRecord[]) {}

  all(): Promise<MailboxRecord[]> {
    return Promise.resolve([...this.mailboxes].sort((a, b) => a.id - b.id));
  }

  get(id: number): Promise<MailboxRecord | null> {
    return Promise.resolve(this.mailboxes.find((m) => m.id === id) ?? null);
  }

  defaultMailbox(): Promise<MailboxRecord> {
    return Promise.resolve(this.mailboxes.find((m) => m.isDefault) ?? this.mailboxes[0]);
  }

  async forRecipients(addresses: readonly string[]): Promise<MailboxRecord> {
    for (const address of addresses) {
      const a = address.toLowerCase();
      const found = this.mailboxes.find((m) => m.state !== 'disabled' && (m.address === a || m.aliases.includes(a)));
      if (found) return found;
    }
    return this.defaultMailbox();
  }

  ownAddresses(): Promise<ReadonlySet<string>> {
    return Promise.resolve(new Set(this.mailboxes.flatMap((m) => [m.address, ...m.aliases])));
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replaces a mailbox (a new version) and tells the listeners, as the real directory does after a change. */
  change(mailbox: MailboxRecord): void {
    this.mailboxes = this.mailboxes.map((m) => (m.id === mailbox.id ? mailbox : m));
    for (const listener of this.listeners) listener();
  }
}
