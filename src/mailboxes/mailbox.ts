/**
 * The shared vocabulary of mailboxes (issue 18): what a mailbox is, and the two services every
 * other module uses to reach one. The MailboxesModule implements them; inbound-mail (routing,
 * pollers), outbound-mail (identity, transport), health and metrics consume them.
 */

export const MAILBOX_STATES = ['active', 'needs_reauthorization', 'error', 'disabled'] as const;
export type MailboxState = (typeof MAILBOX_STATES)[number];

export const OAUTH2_PROVIDERS = ['google', 'microsoft', 'generic'] as const;
export type Oauth2Provider = (typeof OAUTH2_PROVIDERS)[number];

/** A mailbox's OAuth2 client (no secret: that is sealed in `oauth2ClientSecret`). */
export interface Oauth2Settings {
  provider: Oauth2Provider;
  clientId: string;
  /** Microsoft: the directory (tenant) id or `common` / `organizations`. */
  tenant?: string;
  /** Generic: the provider's authorization and token endpoints. */
  authorizeUrl?: string;
  tokenUrl?: string;
  /** Overrides the provider's default scopes. */
  scopes?: string[];
}

/**
 * One row of `mailboxes`, as stored: URLs without passwords, every secret still sealed
 * (AES-256-GCM ciphertext, see secret-box.ts). Addresses and aliases are lowercase.
 */
export interface MailboxRecord {
  id: number;
  name: string;
  address: string;
  aliases: string[];
  groupId: number | null;
  signature: string | null;
  /** The mailbox SUPPORT_ADDRESS, IMAP_URL and SMTP_URL define (its URLs and passwords live in the environment, not in the row). */
  isDefault: boolean;
  imapUrl: string | null;
  imapSecret: string | null;
  smtpUrl: string | null;
  smtpSecret: string | null;
  oauth2: Oauth2Settings | null;
  oauth2ClientSecret: string | null;
  oauth2RefreshSecret: string | null;
  oauth2AccessSecret: string | null;
  oauth2AccessExpiresAt: Date | null;
  state: MailboxState;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSuccessAt: Date | null;
  /** Messages waiting above the poller's cursor at its last look (null: not known). */
  backlog: number | null;
  /** Grows with every change of the row. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** How MailDesk logs in to a mailbox's IMAP or SMTP server. */
export type MailLogin = { user: string; pass: string } | { user: string; accessToken: string };

/** Which server of a mailbox. */
export type MailService = 'imap' | 'smtp';

/**
 * Every mailbox, as this instance knows them: read from the database, cached, and refreshed within
 * seconds of a change made by any instance (the rows' `version`). Injected as MailboxDirectoryService.
 */
export interface MailboxDirectory {
  /** Every mailbox, disabled ones included, ordered by id. */
  all(): Promise<MailboxRecord[]>;
  get(id: number): Promise<MailboxRecord | null>;
  /** The mailbox the environment defines (always present once the app has started). */
  defaultMailbox(): Promise<MailboxRecord>;
  /** The first of `addresses` (any case) that is a mailbox's address or alias gives the mailbox; none: the default. */
  forRecipients(addresses: readonly string[]): Promise<MailboxRecord>;
  /** Every address and alias of every mailbox, lowercase: mail from these is our own (the loop guard). */
  ownAddresses(): Promise<ReadonlySet<string>>;
  /** Calls `listener` after the set of mailboxes or any of them changed; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

/**
 * The logins of a mailbox's servers, secrets unsealed only here and only when needed. Injected as
 * MailboxCredentialsService.
 */
export interface MailboxCredentials {
  /**
   * The login for the mailbox's IMAP or SMTP server: the password (from the row, or from
   * IMAP_URL / SMTP_URL for the default mailbox), or a fresh OAuth2 access token (refreshed ahead
   * of expiry, shared by IMAP and SMTP). Null when the server needs no login. Throws
   * MailboxUnavailableError when the mailbox needs re-authorization.
   */
  login(mailbox: MailboxRecord, service: MailService): Promise<MailLogin | null>;
  /**
   * The server refused the login. An OAuth2 mailbox drops its access token and refreshes once;
   * when the refresh fails for good (invalid_grant) the mailbox becomes `needs_reauthorization`.
   */
  loginRefused(mailbox: MailboxRecord, service: MailService, error: Error): Promise<void>;
}

/** A mailbox that cannot be used until an admin acts (re-authorize OAuth2, re-enable). */
export class MailboxUnavailableError extends Error {
  constructor(
    readonly mailboxId: number,
    readonly state: MailboxState,
    /** Why, when the state alone does not say it (e.g. OAuth2 is not available in this process). */
    detail?: string,
  ) {
    super(detail ? `mailbox ${mailboxId}: ${detail}` : `mailbox ${mailboxId} is ${state.replace(/_/g, ' ')}`);
    this.name = 'MailboxUnavailableError';
  }
}
