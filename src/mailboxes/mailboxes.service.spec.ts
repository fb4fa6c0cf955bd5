import { jest } from '@jest/globals';
import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';
import { FakeMailboxesStore } from '../../test/fakes/fake-mailboxes.store';
import { MailboxCredentialsService, type Oauth2TokenSource } from './mailbox-credentials.service';
import { MailboxDirectoryService } from './mailbox-directory.service';
import { MailboxUnavailableError, type MailboxRecord } from './mailbox';
import { MailboxesService } from './mailboxes.service';
import { formatKey, generateKey } from './secret-box';
import { SecretBoxService } from './secret-box.service';

const config = {
  mail: { supportAddress: 'support@desk.test', supportName: 'Desk' },
  imap: { url: 'imap://reader:envpw@mail.test:143/INBOX' },
  smtp: { url: undefined },
  workers: false,
  dataDir: '/nonexistent',
  encryption: { keys: [formatKey(generateKey())] },
} as never;

function setup() {
  const store = new FakeMailboxesStore();
  const box = new SecretBoxService(config);
  const directory = new MailboxDirectoryService(store, config);
  const service = new MailboxesService(store, directory, box, config);
  return { store, box, directory, service };
}

describe('MailboxesService', () => {
  it('creates a mailbox with its passwords sealed apart from the URLs', async () => {
    const { store, box, service } = setup();
    const m = await service.create({
      name: ' Billing ',
      address: 'Billing@Desk.test',
      aliases: ['pay@desk.test', 'PAY@desk.test', 'billing@desk.test'],
      imapUrl: 'imaps://b%40desk.test:p%40ss@imap.desk.test/INBOX',
      smtpUrl: 'smtp://b:smtp-pw@smtp.desk.test:587',
    });
    expect(m).toMatchObject({
      name: 'Billing',
      address: 'billing@desk.test',
      aliases: ['pay@desk.test'],
      imapUrl: 'imaps://b%40desk.test@imap.desk.test/INBOX',
      smtpUrl: 'smtp://b@smtp.desk.test:587',
    });
    const row = (await store.get(m.id))!;
    expect(box.open(row.imapSecret!)).toBe('p@ss');
    expect(box.open(row.smtpSecret!)).toBe('smtp-pw');
  });

  it('answers 409 for a taken address, 400 for an unknown group, 404 for an unknown mailbox', async () => {
    const { store, service } = setup();
    await service.create({ name: 'A', address: 'a@desk.test', aliases: ['x@desk.test'] });
    await expect(service.create({ name: 'B', address: 'x@desk.test' })).rejects.toBeInstanceOf(ConflictException);
    await expect(service.create({ name: 'B', address: 'b@desk.test', groupId: 7 })).rejects.toBeInstanceOf(
      BadRequestException,
    );
    store.groups.add(7);
    expect((await service.create({ name: 'B', address: 'b@desk.test', groupId: 7 })).groupId).toBe(7);
    await expect(service.update(99, { name: 'x' })).rejects.toBeInstanceOf(NotFoundException);
    await expect(service.deactivate(99)).rejects.toBeInstanceOf(NotFoundException);
  });

  it('keeps a stored password for a URL without one only while it names the same server and user', async () => {
    const { store, service } = setup();
    const m = await service.create({ name: 'A', address: 'a@desk.test', imapUrl: 'imap://u:pw@h.test/INBOX' });
    const sealed = (await store.get(m.id))!.imapSecret;
    await service.update(m.id, { imapUrl: 'imap://u@h.test/INBOX' });
    expect((await store.get(m.id))!.imapSecret).toBe(sealed);
    await expect(service.update(m.id, { imapUrl: 'imap://u@other.test/INBOX' })).rejects.toThrow(/needs a password/);
    await expect(service.update(m.id, { imapUrl: 'imap://v@h.test/INBOX' })).rejects.toThrow(/needs a password/);
    await service.update(m.id, { imapUrl: null });
    expect((await store.get(m.id))!).toMatchObject({ imapUrl: null, imapSecret: null });
  });

  it('switching to OAuth2 drops the passwords; a new client drops the tokens; the same client keeps them', async () => {
    const { store, service } = setup();
    const m = await service.create({ name: 'A', address: 'a@desk.test', imapUrl: 'imap://u:pw@h.test/INBOX' });
    await service.update(m.id, { oauth2: { provider: 'google', clientId: 'c1', clientSecret: 's1' } });
    let row = (await store.get(m.id))!;
    expect(row).toMatchObject({ imapSecret: null, oauth2: { provider: 'google', clientId: 'c1' } });
    await store.storeOauth2Tokens(m.id, { refreshSecret: 'r', accessSecret: 'a', accessExpiresAt: null });
    await service.update(m.id, { oauth2: { provider: 'google', clientId: 'c1' }, name: 'Renamed' });
    row = (await store.get(m.id))!;
    expect(row.oauth2RefreshSecret).toBe('r');
    await service.update(m.id, { oauth2: { provider: 'google', clientId: 'c2' } });
    row = (await store.get(m.id))!;
    expect(row.oauth2RefreshSecret).toBeNull();
    expect(row.oauth2ClientSecret).not.toBeNull();
  });

  it("refuses changes of the default mailbox's environment fields, naming the variable; accepts the same values", async () => {
    const { service } = setup();
    const [def] = await service.list();
    expect(def).toMatchObject({ isDefault: true, imapUrl: 'imap://reader@mail.test:143/INBOX', smtpUrl: null });
    await expect(service.update(def.id, { address: 'new@desk.test' })).rejects.toThrow(/SUPPORT_ADDRESS/);
    await expect(service.update(def.id, { imapUrl: 'imap://x:y@h.test' })).rejects.toThrow(/IMAP_URL/);
    await expect(service.update(def.id, { smtpUrl: 'smtp://h.test' })).rejects.toThrow(/SMTP_URL/);
    const same = await service.update(def.id, {
      address: 'SUPPORT@desk.test',
      name: 'Desk',
      imapUrl: def.imapUrl,
      aliases: ['help@desk.test'],
    });
    expect(same.aliases).toEqual(['help@desk.test']);
    await expect(service.deactivate(def.id)).rejects.toBeInstanceOf(ConflictException);
  });

  it('deactivates and re-enables; the directory sees it at once', async () => {
    const { service, directory } = setup();
    const m = await service.create({ name: 'A', address: 'a@desk.test' });
    expect((await directory.forRecipients(['a@desk.test'])).id).toBe(m.id);
    expect((await service.deactivate(m.id)).state).toBe('disabled');
    expect((await directory.forRecipients(['a@desk.test'])).isDefault).toBe(true);
    expect((await directory.ownAddresses()).has('a@desk.test')).toBe(true);
    expect((await service.update(m.id, { state: 'active' })).state).toBe('active');
    expect((await directory.get(m.id))!.state).toBe('active');
  });
});

describe('MailboxDirectoryService', () => {
  it('reloads only when the probe changes, and calls the listeners after a change', async () => {
    const { store, directory, service } = setup();
    await directory.all();
    const heard: number[] = [];
    directory.onChange(() => heard.push(1));
    const rowsRead = jest.spyOn(store, 'list');
    await directory.tick();
    expect(rowsRead).not.toHaveBeenCalled();
    const m = await service.create({ name: 'A', address: 'a@desk.test' });
    expect(heard).toHaveLength(1);
    await store.recordPollerStatus(m.id, { ok: false, at: new Date(), error: 'x' });
    await directory.tick();
    expect(heard).toHaveLength(1);
    await store.setState(m.id, 'needs_reauthorization');
    await directory.tick();
    expect(heard).toHaveLength(2);
  });

  it('never throws from a tick, and serves the last rows while the store fails', async () => {
    const { store, directory } = setup();
    const [def] = await directory.all();
    jest.spyOn(store, 'probe').mockRejectedValue(new Error('database away'));
    await expect(directory.tick()).resolves.toBeUndefined();
    expect((await directory.defaultMailbox()).id).toBe(def.id);
  });

  it('a listener that throws does not stop the others', async () => {
    const { directory, service } = setup();
    await directory.all();
    const heard: string[] = [];
    directory.onChange(() => {
      throw new Error('bad listener');
    });
    const off = directory.onChange(() => heard.push('b'));
    await service.create({ name: 'A', address: 'a@desk.test' });
    expect(heard).toEqual(['b']);
    off();
    await service.create({ name: 'B', address: 'b@desk.test' });
    expect(heard).toEqual(['b']);
  });
});

describe('MailboxCredentialsService', () => {
  const record = (over: Partial<MailboxRecord>): MailboxRecord =>
    ({
      id: 5,
      isDefault: false,
      state: 'active',
      oauth2: null,
      imapUrl: null,
      smtpUrl: null,
      ...over,
    }) as MailboxRecord;

  it('opens the sealed password; the default mailbox logs in with IMAP_URL', async () => {
    const box = new SecretBoxService(config);
    const credentials = new MailboxCredentialsService(box, config);
    const m = record({ imapUrl: 'imap://b%40desk.test@h.test/INBOX', imapSecret: box.seal('pw') });
    expect(await credentials.login(m, 'imap')).toEqual({ user: 'b@desk.test', pass: 'pw' });
    expect(await credentials.login(m, 'smtp')).toBeNull();
    expect(await credentials.login(record({ isDefault: true }), 'imap')).toEqual({ user: 'reader', pass: 'envpw' });
    expect(await credentials.login(record({ isDefault: true }), 'smtp')).toBeNull();
  });

  it('refuses a mailbox that needs re-authorization or is disabled', async () => {
    const credentials = new MailboxCredentialsService(new SecretBoxService(config), config);
    for (const state of ['needs_reauthorization', 'disabled'] as const) {
      await expect(credentials.login(record({ state }), 'imap')).rejects.toBeInstanceOf(MailboxUnavailableError);
    }
  });

  it('asks the token source for an OAuth2 mailbox, with the URL user; unavailable without one', async () => {
    const calls: string[] = [];
    const tokens: Oauth2TokenSource = {
      accessToken: async () => 'token-1',
      invalidate: async (_m, reason) => {
        calls.push(reason.message);
      },
    };
    const m = record({
      imapUrl: 'imaps://o%40desk.test@imap.test/INBOX',
      oauth2: { provider: 'google', clientId: 'c' },
    });
    const withTokens = new MailboxCredentialsService(new SecretBoxService(config), config, tokens);
    expect(await withTokens.login(m, 'imap')).toEqual({ user: 'o@desk.test', accessToken: 'token-1' });
    await withTokens.loginRefused(m, 'imap', new Error('AUTHENTICATIONFAILED'));
    expect(calls).toEqual(['AUTHENTICATIONFAILED']);
    const without = new MailboxCredentialsService(new SecretBoxService(config), config);
    await expect(without.login(m, 'imap')).rejects.toBeInstanceOf(MailboxUnavailableError);
  });
});
