import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntityManager } from 'typeorm';
import { type MailboxRecord, MailboxUnavailableError } from '../mailbox';
import type { SealedTokens } from '../mailboxes.repository';
import type { Oauth2Store } from './oauth2.repository';
import {
  type EventQueue,
  type MailboxTokenStore,
  Oauth2TokenService,
  Oauth2TransientError,
} from './oauth2-token.service';

/** A token endpoint on a local port answering each POST with the next canned answer. */
async function tokenEndpoint(answers: Array<{ status: number; body: Record<string, unknown> }>) {
  let calls = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls++;
      const a = answers.shift() ?? { status: 503, body: {} };
      // A little later, so concurrent callers overlap.
      setTimeout(() => {
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(a.body));
      }, 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    get calls() {
      return calls;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function mailboxRow(tokenUrl: string, over: Partial<MailboxRecord> = {}): MailboxRecord {
  return {
    id: 7,
    name: 'Support',
    address: 'support@example.test',
    aliases: [],
    groupId: null,
    signature: null,
    isDefault: false,
    imapUrl: 'imap://support%40example.test@127.0.0.1:1/INBOX',
    imapSecret: null,
    smtpUrl: null,
    smtpSecret: null,
    oauth2: { provider: 'generic', clientId: 'maildesk', authorizeUrl: 'http://127.0.0.1:1/auth', tokenUrl },
    oauth2ClientSecret: 'sealed:client-secret',
    oauth2RefreshSecret: 'sealed:rt-1',
    oauth2AccessSecret: null,
    oauth2AccessExpiresAt: null,
    state: 'active',
    lastError: null,
    lastErrorAt: null,
    lastSuccessAt: null,
    backlog: null,
    version: 1,
    createdAt: new Date(),
    updatedAt: new Date(),
    ...over,
  };
}

/** The service on in-memory fakes of our own stores (the token endpoint is a real local HTTP server). */
function setup(row: MailboxRecord) {
  const events: Array<{ event: string; data: Record<string, unknown> }> = [];
  const mailboxes: MailboxTokenStore = {
    get: async (id) => (id === row.id ? { ...row } : null),
    storeOauth2Tokens: async (_id, t: SealedTokens) => {
      if (t.refreshSecret !== undefined) row.oauth2RefreshSecret = t.refreshSecret;
      row.oauth2AccessSecret = t.accessSecret;
      row.oauth2AccessExpiresAt = t.accessExpiresAt;
      return { ...row };
    },
  };
  const store: Pick<Oauth2Store, 'transaction' | 'withRefreshLock' | 'dropAccessToken' | 'markNeedsReauthorization'> = {
    transaction: (work) => work({} as EntityManager),
    withRefreshLock: (_id, work) => work(),
    dropAccessToken: async (_id, sealed) => {
      if (row.oauth2AccessSecret === sealed) row.oauth2AccessSecret = row.oauth2AccessExpiresAt = null;
    },
    markNeedsReauthorization: async (_m, _id, reason) => {
      if (row.state !== 'active' && row.state !== 'error') return null;
      Object.assign(row, { state: 'needs_reauthorization', lastError: reason, version: row.version + 1 });
      return { ...row };
    },
  };
  const box = { seal: (p: string) => `sealed:${p}`, open: (s: string) => s.replace(/^sealed:/, '') };
  const queue: EventQueue = { enqueue: async (_m, event, data) => void events.push({ event, data }) };
  const service = new Oauth2TokenService(mailboxes, store as Oauth2Store, box, queue, { retryBaseMs: 10, attempts: 3 });
  return { service, events, row };
}

describe('Oauth2TokenService', () => {
  it('refreshes once for concurrent callers, stores the rotated refresh token sealed, then serves from memory', async () => {
    const ep = await tokenEndpoint([
      { status: 200, body: { access_token: 'at-1', refresh_token: 'rt-2', expires_in: 3600 } },
    ]);
    try {
      const { service, row } = setup(mailboxRow(ep.url));
      const got = await Promise.all([service.accessToken(row), service.accessToken(row), service.accessToken(row)]);
      expect(got).toEqual(['at-1', 'at-1', 'at-1']);
      expect(ep.calls).toBe(1);
      expect(row.oauth2RefreshSecret).toBe('sealed:rt-2');
      expect(row.oauth2AccessSecret).toBe('sealed:at-1');
      await expect(service.accessToken(row)).resolves.toBe('at-1');
      expect(ep.calls).toBe(1);
    } finally {
      await ep.close();
    }
  });

  it('uses a fresh token another instance stored instead of refreshing', async () => {
    const ep = await tokenEndpoint([]);
    try {
      const { service, row } = setup(
        mailboxRow(ep.url, {
          oauth2AccessSecret: 'sealed:at-other',
          oauth2AccessExpiresAt: new Date(Date.now() + 3600_000),
        }),
      );
      await expect(service.accessToken(row)).resolves.toBe('at-other');
      expect(ep.calls).toBe(0);
    } finally {
      await ep.close();
    }
  });

  it('retries transient failures without touching the state, and keeps a still-valid token', async () => {
    const ep = await tokenEndpoint([
      { status: 503, body: {} },
      { status: 429, body: {} },
      { status: 500, body: { error: 'server_error' } },
    ]);
    try {
      const { service, row, events } = setup(
        mailboxRow(ep.url, {
          oauth2AccessSecret: 'sealed:at-old',
          oauth2AccessExpiresAt: new Date(Date.now() + 60_000),
        }),
      );
      // Within the 5-minute margin: a refresh is tried, fails 3 times, and the current token serves.
      await expect(service.accessToken(row)).resolves.toBe('at-old');
      expect(ep.calls).toBe(3);
      expect(row.state).toBe('active');
      expect(events).toEqual([]);
      row.oauth2AccessSecret = row.oauth2AccessExpiresAt = null;
      await expect(service.accessToken(row)).rejects.toBeInstanceOf(Oauth2TransientError);
      expect(row.state).toBe('active');
    } finally {
      await ep.close();
    }
  });

  it('moves the mailbox to needs_reauthorization on invalid_grant, with one webhook event and no token in it', async () => {
    const ep = await tokenEndpoint([
      { status: 400, body: { error: 'invalid_grant', error_description: 'grant revoked' } },
    ]);
    try {
      const { service, row, events } = setup(mailboxRow(ep.url));
      await expect(service.accessToken(row)).rejects.toBeInstanceOf(MailboxUnavailableError);
      expect(ep.calls).toBe(1);
      expect(row.state).toBe('needs_reauthorization');
      expect(row.lastError).toContain('invalid_grant: grant revoked');
      expect(events).toEqual([
        {
          event: 'mailbox.needs_reauthorization',
          data: {
            mailbox: { id: 7, name: 'Support', address: 'support@example.test', state: 'needs_reauthorization' },
            reason: 'OAuth2 refused: the token endpoint answered 400 invalid_grant: grant revoked',
          },
        },
      ]);
      expect(JSON.stringify(events)).not.toMatch(/rt-1|client-secret/);
      await expect(service.accessToken(row)).rejects.toBeInstanceOf(MailboxUnavailableError);
      expect(ep.calls).toBe(1);
    } finally {
      await ep.close();
    }
  });

  it('drops a refused token and refreshes at once (invalidate)', async () => {
    const ep = await tokenEndpoint([
      { status: 200, body: { access_token: 'at-1', expires_in: 3600 } },
      { status: 200, body: { access_token: 'at-2', expires_in: 3600 } },
    ]);
    try {
      const { service, row } = setup(mailboxRow(ep.url));
      await expect(service.accessToken(row)).resolves.toBe('at-1');
      await service.invalidate(row, new Error('AUTHENTICATIONFAILED'));
      expect(ep.calls).toBe(2);
      await expect(service.accessToken(row)).resolves.toBe('at-2');
      expect(row.oauth2RefreshSecret).toBe('sealed:rt-1');
    } finally {
      await ep.close();
    }
  });

  it('asks for authorization when the mailbox was never authorized', async () => {
    const { service, row } = setup(mailboxRow('http://127.0.0.1:1/token', { oauth2RefreshSecret: null }));
    await expect(service.accessToken(row)).rejects.toBeInstanceOf(MailboxUnavailableError);
    expect(row.state).toBe('needs_reauthorization');
    expect(row.lastError).toContain('not been authorized yet');
  });
});
