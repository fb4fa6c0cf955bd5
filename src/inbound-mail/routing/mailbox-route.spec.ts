import { mailboxRecord, MemoryMailboxDirectory } from '../../../test/fakes/mailbox-directory';
import { mailFrom } from '../../../test/fakes/parsed-mail';
import { routeMail, routingRecipients } from './mailbox-route';

const support = mailboxRecord({ id: 1, address: 'support@desk.test', isDefault: true, groupId: 7 });
const billing = mailboxRecord({ id: 2, address: 'billing@desk.test', aliases: ['invoices@desk.test'], groupId: 8 });
const sales = mailboxRecord({ id: 3, address: 'sales@desk.test', state: 'disabled', groupId: null });
const directory = new MemoryMailboxDirectory([support, billing, sales]);

const to = (...addresses: string[]) => addresses.map((address) => ({ address, name: '' }));
const headers = (h: Record<string, string>) => new Map(Object.entries(h));

describe('routingRecipients: the order routing asks the recipients in', () => {
  it('asks the envelope, then Delivered-To (newest hop first), X-Original-To, To, then Cc; once each', () => {
    const mail = mailFrom('ada@example.test', {
      headers: headers({
        'delivered-to': 'Hop1@desk.test\n<hop2@desk.test>',
        'x-original-to': 'orig@desk.test',
      }),
      to: to('to@desk.test', 'hop1@desk.test'),
      cc: to('cc@desk.test'),
    });
    expect(routingRecipients(mail, ['<Env@desk.test>'])).toEqual([
      'env@desk.test',
      'hop1@desk.test',
      'hop2@desk.test',
      'orig@desk.test',
      'to@desk.test',
      'cc@desk.test',
    ]);
  });

  it('skips what is not an address and stops at a bound', () => {
    const many = to(...Array.from({ length: 500 }, (_, i) => `u${i}@example.test`));
    const mail = mailFrom('ada@example.test', { headers: headers({ 'delivered-to': 'not an address' }), to: many });
    const recipients = routingRecipients(mail);
    expect(recipients).toHaveLength(100);
    expect(recipients[0]).toBe('u0@example.test');
  });
});

describe('routeMail: which mailbox a mail belongs to', () => {
  it('takes the IMAP account the mail was read from, whatever it is addressed to', async () => {
    const mail = mailFrom('ada@example.test', { to: to('support@desk.test') });
    await expect(routeMail(directory, mail, { mailboxId: 2 })).resolves.toMatchObject({
      mailboxId: 2,
      groupId: 8,
      by: 'account',
    });
  });

  it('takes the first recipient that is a mailbox address or alias: Delivered-To before To', async () => {
    const mail = mailFrom('ada@example.test', {
      headers: headers({ 'delivered-to': 'invoices@desk.test' }),
      to: to('support@desk.test'),
    });
    await expect(routeMail(directory, mail)).resolves.toMatchObject({ mailboxId: 2, groupId: 8, by: 'recipient' });
  });

  it('takes a Cc when no To is ours, and the envelope before the headers', async () => {
    const cc = mailFrom('ada@example.test', { to: to('friend@example.test'), cc: to('billing@desk.test') });
    await expect(routeMail(directory, cc)).resolves.toMatchObject({ mailboxId: 2 });
    const bcc = mailFrom('ada@example.test', { to: to('billing@desk.test') });
    await expect(routeMail(directory, bcc, { envelopeTo: ['support@desk.test'] })).resolves.toMatchObject({
      mailboxId: null,
      groupId: 7,
    });
  });

  it('falls back to the default mailbox (stored as null) for no known recipient or an unknown account', async () => {
    const mail = mailFrom('ada@example.test', { to: to('someone@elsewhere.test') });
    await expect(routeMail(directory, mail)).resolves.toMatchObject({ mailboxId: null, groupId: 7, by: 'default' });
    await expect(routeMail(directory, mail, { mailboxId: 99 })).resolves.toMatchObject({ mailboxId: null });
  });

  it('files mail to a disabled mailbox in the default mailbox (stored, never lost)', async () => {
    const mail = mailFrom('ada@example.test', { to: to('sales@desk.test') });
    await expect(routeMail(directory, mail)).resolves.toMatchObject({ mailboxId: null, groupId: 7, by: 'default' });
  });
});
