import { dovecotAvailable, startDovecot, SUPPORT_USER, TestDovecot } from '../setup/dovecot';

const describeImap = dovecotAvailable() ? describe : describe.skip;

describeImap('throwaway Dovecot harness', () => {
  let dovecot: TestDovecot;
  beforeAll(async () => {
    dovecot = await startDovecot();
  });
  afterAll(async () => {
    await dovecot?.stop();
  });

  it('stores appended mail with its flags and keeps it across a restart', async () => {
    const uid = await dovecot.append(
      SUPPORT_USER,
      'From: a@b.test\r\nSubject: hi\r\nMessage-ID: <h1@b.test>\r\n\r\nbody\r\n',
      ['\\Seen'],
    );
    await dovecot.restart();
    const c = await dovecot.client();
    try {
      const lock = await c.getMailboxLock('INBOX');
      try {
        const msg = await c.fetchOne(String(uid), { uid: true, flags: true, envelope: true }, { uid: true });
        expect(msg && msg.envelope?.subject).toBe('hi');
        expect(msg && [...(msg.flags ?? [])]).toContain('\\Seen');
      } finally {
        lock.release();
      }
    } finally {
      await c.logout();
    }
  });

  it('builds IMAP URLs with percent-encoded credentials', async () => {
    await expect(Promise.resolve(dovecot.url())).resolves.toBe(
      `imap://support%40example.test:secret@127.0.0.1:${dovecot.port}/INBOX`,
    );
  });
});
