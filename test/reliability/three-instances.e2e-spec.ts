import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { AppProcess } from '../setup/app-process';
import { createTestDatabase, TestDatabase } from '../setup/database';
import { dovecotAvailable, rawMail as imapMail, startDovecot, SUPPORT_USER, TestDovecot } from '../setup/dovecot';
import { nginxAvailable, startNginx, TestNginx } from '../setup/nginx';
import { SmtpSink } from '../setup/smtp-sink';
import { removeBuiltApp, startBuiltApp } from './support/app';
import { autoReplyAccount, countBy } from './support/counting';
import { adminToken, appEnv, plainMail, report, sleep, tempDir, TOKEN, until, variant } from './support/harness';

/**
 * One of the three instances is SIGKILLed once the load is under way (at least KILL_AFTER_MS and
 * KILL_AFTER_ACKED acknowledged mails), and the load goes on for AFTER_KILL_MS: past nginx's
 * fail_timeout (10 s), so its next try of the dead instance is seen too.
 */
const KILL_AFTER_MS = variant(4_000, 15_000);
const KILL_AFTER_ACKED = variant(40, 150);
const AFTER_KILL_MS = variant(12_000, 30_000);
const WEBHOOK_SENDERS = 6;
/** IMAP mails appended to each mailbox every second of the load. */
const IMAP_PER_SECOND = variant(2, 4);
/** Mailboxes besides the default one (IMAP_URL): six in all, two per instance. */
const EXTRA_MAILBOXES = 5;
/** The bound on moving a killed instance's mailboxes to the survivors (mailbox-failover asserts 10 s too). */
const TAKEOVER_BOUND_MS = 10_000;

/** One webhook attempt as the sender saw it, with the X-Request-Id nginx logs it under. */
interface Attempt {
  rid: string;
  status: number;
  at: number;
}

/** An access log line of nginx/maildesk.conf's `maildesk` format, the parts this test reads. */
interface Served {
  status: number;
  upstreams: string[];
  upstreamStatuses: string[];
  rid: string;
}

function parseAccessLine(line: string): Served | null {
  const m = /" (\d{3}) \d+ \S+ upstream=(.*) upstream_status=(.*) rid=(\S+)$/.exec(line);
  if (!m) return null;
  return {
    status: Number(m[1]),
    upstreams: m[2].split(/[,:] (?=\d|-)/).map((s) => s.trim()),
    upstreamStatuses: m[3].split(/[,:] /).map((s) => s.trim()),
    rid: m[4],
  };
}

/** POST /inbound/mail through nginx with our own X-Request-Id; never throws (no answer is status 0). */
async function post(base: string, raw: Buffer, rid: string): Promise<number> {
  try {
    const res = await fetch(`${base}/inbound/mail`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'message/rfc822', 'x-request-id': rid },
      body: raw,
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

interface Ready {
  mailboxes: Array<{ id: number; imap: boolean; leader: boolean }>;
}

/** The ids of the mailboxes an instance leads (asked directly, not through nginx); null when it does not answer. */
async function ledBy(app: AppProcess): Promise<number[] | null> {
  try {
    const res = await fetch(`${app.base}/health/ready`, { signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as Ready;
    return body.mailboxes.filter((m) => m.imap && m.leader).map((m) => m.id);
  } catch {
    return null;
  }
}

/**
 * Issue 22 item 6: three instances of the built app behind the real nginx (nginx/maildesk.conf) on
 * one PostgreSQL database and six IMAP mailboxes (two led by each instance), with webhook senders
 * posting through nginx (retrying anything not answered 200) and mail arriving in every mailbox.
 * One instance is SIGKILLed mid-load. Nothing is lost or stored twice, each request has exactly one
 * creation auto-reply, SMTP repeats only mail the killed instance had leased, the survivors take
 * its mailboxes over within TAKEOVER_BOUND_MS, and nginx answers every sender through the
 * survivors: the only 5xx are 502s for POSTs that were already on the killed instance (nginx never
 * sends a POST twice), everything else it retries on the next upstream.
 */
const enabled = nginxAvailable() && dovecotAvailable();
(enabled ? describe : describe.skip)('three instances behind nginx, one SIGKILLed under load', () => {
  let db: TestDatabase;
  let dovecot: TestDovecot;
  let sink: SmtpSink;
  let nginx: TestNginx;
  const apps: AppProcess[] = [];
  const dirs: string[] = [];
  let stopLoad = () => undefined as unknown;
  const users = Object.fromEntries(
    Array.from({ length: EXTRA_MAILBOXES }, (_, i) => [`box${i}@example.test`, `box${i}-secret`]),
  );

  beforeAll(async () => {
    [db, dovecot, sink] = await Promise.all([
      createTestDatabase('postgres'),
      startDovecot({ users }),
      SmtpSink.start(),
    ]);
  }, 60_000);

  afterAll(async () => {
    stopLoad();
    await nginx?.stop();
    await Promise.all(apps.map((a) => a.kill()));
    await Promise.all([sink?.stop(), dovecot?.stop(), db?.drop()]);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    removeBuiltApp();
  }, 30_000);

  it('loses nothing, repeats only leased mail, moves leadership and keeps answering through the survivors', async () => {
    const started = Date.now();
    const key = crypto.randomBytes(32).toString('hex'); // one key: each opens the passwords another sealed
    const env = (dataDir: string) =>
      appEnv({
        ENCRYPTION_KEY: key,
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        SMTP_URL: sink.url,
        IMAP_URL: dovecot.url(),
        IMAP_POLL_SECONDS: '1',
        TRUST_PROXY: 'loopback',
      });
    for (let i = 0; i < 3; i++) dirs.push(tempDir('three'));
    apps.push(...(await Promise.all(dirs.map((d) => startBuiltApp(env(d))))));
    // The test measures failover, not nginx's per-IP webhook limit (every sender is 127.0.0.1 here).
    nginx = await startNginx({ upstreams: apps.map((a) => Number(new URL(a.base).port)), inboundRate: '2000r/s' });
    const port = (a: AppProcess) => `127.0.0.1:${new URL(a.base).port}`;

    // Five more mailboxes, added as an admin does (through nginx).
    const token = await adminToken(nginx.base);
    const mailboxUsers: string[] = [SUPPORT_USER];
    for (const user of Object.keys(users)) {
      const res = await fetch(`${nginx.base}/mailboxes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          name: user,
          address: user.replace('example.test', 'desk.test'),
          imapUrl: dovecot.url(user),
        }),
      });
      expect(res.status).toBe(201);
      mailboxUsers.push(user);
    }
    const spread = await until(
      'the six mailboxes shared out, two per instance',
      async () => {
        const led = await Promise.all(apps.map(ledBy));
        return led.every((l) => l?.length === 2) && (led as number[][]);
      },
      30_000,
    );
    expect(new Set(spread.flat()).size).toBe(1 + EXTRA_MAILBOXES);
    const victimIndex = 1;
    const victim = apps[victimIndex];
    const survivors = apps.filter((a) => a !== victim);
    const victimMailboxes = spread[victimIndex];

    // Webhook senders through nginx: a new customer each mail, retried until answered 200.
    let next = 0;
    let loadOn = true;
    const acked: string[] = [];
    const attempts: Attempt[] = [];
    const failures: string[] = [];
    const senders = Array.from({ length: WEBHOOK_SENDERS }, async () => {
      while (loadOn) {
        const i = next++;
        const id = `three-web-${i}@load.test`;
        const raw = plainMail({ from: `web${i}@customer.test`, subject: `webhook ${i}`, messageId: id });
        const end = Date.now() + 60_000;
        for (let attempt = 1; ; attempt++) {
          const rid = `three-${i}-${attempt}`;
          const status = await post(nginx.base, raw, rid);
          attempts.push({ rid, status, at: Date.now() });
          if (status === 200) break;
          if (Date.now() > end) throw new Error(`mail ${i} not acknowledged within 60 s (last: ${status})`);
          await sleep(100 + Math.random() * 200);
        }
        acked.push(id);
      }
    }).map((p) => p.catch((e: Error) => void failures.push(e.message)));
    stopLoad = () => (loadOn = false);

    // Mail arrives in every mailbox meanwhile.
    const imapIds: string[] = [];
    let imapNext = 0;
    const appendAll = async (tag: string) => {
      for (const user of mailboxUsers) {
        const raws = Array.from({ length: IMAP_PER_SECOND }, () => {
          const j = imapNext++;
          imapIds.push(`three-imap-${j}@load.test`);
          return imapMail({
            from: `imap${j}@customer.test`,
            to: user.replace('example.test', 'desk.test'),
            subject: `imap ${tag} ${j}`,
            messageId: `three-imap-${j}@load.test`,
          });
        });
        await dovecot.appendMany(user, raws);
      }
    };
    const loadStarted = Date.now();
    const appending = (async () => {
      while (loadOn) {
        await appendAll('load');
        await sleep(1000);
      }
    })();

    await until(
      'the load to be under way',
      async () => Date.now() - loadStarted >= KILL_AFTER_MS && acked.length >= KILL_AFTER_ACKED,
      120_000,
      50,
    );
    const ackedBeforeKill = acked.length;
    await victim.kill();
    const killedAt = Date.now();
    const loadAtKill = os.loadavg()[0];
    expect(victim.proc.signalCode).toBe('SIGKILL');

    // A mail for each of the killed instance's mailboxes: a survivor must import it.
    const boxes: Array<{ id: number; address: string }> = await db.dataSource.query(
      `SELECT id, address FROM mailboxes WHERE id = ANY($1)`,
      [victimMailboxes],
    );
    const probes = boxes.map((b, k) => {
      const user = b.address === 'support@desk.test' ? SUPPORT_USER : b.address.replace('desk.test', 'example.test');
      return { user, to: b.address, messageId: `three-probe-${k}@load.test` };
    });
    expect(probes).toHaveLength(2);
    imapIds.push(...probes.map((p) => p.messageId));
    const probesImported = (async () => {
      for (const p of probes)
        await dovecot.append(p.user, imapMail({ from: `probe@customer.test`, subject: 'after the kill', ...p }));
      await until(
        'the mails for the killed instance’s mailboxes',
        async () =>
          (
            await db.dataSource.query(`SELECT 1 FROM inbound_mail WHERE message_id = ANY($1)`, [
              probes.map((p) => p.messageId),
            ])
          ).length === probes.length,
        TAKEOVER_BOUND_MS + 20_000,
        100,
      );
      return Date.now() - killedAt;
    })();

    // Leadership: the survivors lead every mailbox, each by exactly one of them.
    const takeover = await until(
      'the survivors to lead all six mailboxes',
      async () => {
        const led = await Promise.all(survivors.map(ledBy));
        if (led.some((l) => l === null)) return false;
        const all = (led as number[][]).flat();
        return all.length === 1 + EXTRA_MAILBOXES && new Set(all).size === all.length && led;
      },
      TAKEOVER_BOUND_MS + 20_000,
      100,
    );
    const takeoverMs = Date.now() - killedAt;

    const probeImportedMs = await probesImported;
    await sleep(Math.max(0, killedAt + AFTER_KILL_MS - Date.now()));
    loadOn = false;
    const loadEnded = Date.now();
    await Promise.all(senders);
    await appending;
    expect(failures).toEqual([]);

    // Everything settles: every mailbox imported, the outbox drained but for the mail the killed
    // instance had leased (its lease is 2 minutes: lease-queue.repository.ts).
    await until(
      'the IMAP import',
      async () => {
        const [r] = await db.dataSource.query(`SELECT count(*)::int AS n FROM inbound_mail WHERE source = 'imap'`);
        return r.n >= imapIds.length;
      },
      60_000,
      500,
    );
    const leased = async () =>
      (
        await db.dataSource.query(
          `SELECT id, locked_until > now() AS leased FROM outbox WHERE status <> 'sent' ORDER BY id`,
        )
      ).map((r: { id: string; leased: boolean }) => `${r.id}:${r.leased}`) as string[];
    let previous = '';
    const stuck = await until(
      'the outbox to drain but for the killed instance’s leases',
      async () => {
        const rows = await leased();
        const now = rows.join(',');
        const stable = rows.every((r) => r.endsWith(':true')) && now === previous;
        previous = now;
        return stable && { ids: rows.map((r) => r.split(':')[0]) };
      },
      60_000,
      1500,
    );
    const settledAt = Date.now();
    // Those rows are attempted again when their lease expires. The long variant waits for that; the
    // short one (CI, ~90 s) moves the expiry to now, which is what the 2 minutes lead to.
    if (variant(true, false) && stuck.ids.length)
      await db.dataSource.query(`UPDATE outbox SET locked_until = now() WHERE id = ANY($1)`, [stuck.ids]);
    await until(
      'the outbox to drain',
      async () => {
        const [r] = await db.dataSource.query(`SELECT count(*)::int AS n FROM outbox WHERE status <> 'sent'`);
        return r.n === 0;
      },
      variant(30_000, 180_000),
      500,
    );
    await sleep(1000); // a send in flight would show up now

    // Nothing lost, nothing stored twice.
    const inbound = countBy(await db.dataSource.query(`SELECT message_id AS key FROM messages WHERE direction = 'in'`));
    const rawStored = countBy(await db.dataSource.query(`SELECT message_id AS key FROM inbound_mail`));
    const expected = [...acked, ...imapIds];
    const lost = expected.filter((id) => !inbound.has(id));
    const storedTwice = [...inbound, ...rawStored].filter(([, n]) => n > 1).map(([k]) => k);
    expect(lost).toEqual([]);
    expect(storedTwice).toEqual([]);
    const [{ requests }] = await db.dataSource.query(`SELECT count(*)::int AS requests FROM requests`);
    expect(requests).toBe(expected.length);

    // Exactly one creation auto-reply per request; SMTP repeats only what the killed instance had
    // leased (the send and the "sent" mark cannot be atomic).
    const { notOnePerRequest, replyIds, undelivered, duplicates } = await autoReplyAccount(db.dataSource, sink.mails);
    expect(notOnePerRequest).toEqual([]);
    expect(undelivered).toEqual([]);
    expect(sink.mails.length).toBe(replyIds.length + duplicates);
    expect(duplicates).toBeLessThanOrEqual(stuck.ids.length);

    // Leadership moved within the bound, each mailbox to one survivor.
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);
    // The import after the takeover also works off the mail that arrived in those mailboxes during
    // the load, on a CPU shared with the load: past two runnable processes per core (other work on
    // the machine) it measures the machine, and only a looser bound holds.
    const calm = loadAtKill <= 2 * os.cpus().length;
    if (!calm) console.warn(`load average ${loadAtKill.toFixed(1)} at the kill: the import bound is 30 s, not 10 s`);
    expect(probeImportedMs).toBeLessThan(calm ? TAKEOVER_BOUND_MS : 30_000);
    expect(takeover.flat().sort()).toEqual(spread.flat().sort());

    // nginx: what the senders saw, matched to its access log by X-Request-Id.
    const served = new Map(
      nginx
        .accessLog()
        .map(parseAccessLine)
        .filter((s): s is Served => s !== null)
        .map((s) => [s.rid, s]),
    );
    const dead = port(victim);
    const notOk = attempts.filter((a) => a.status !== 200);
    const inFlightOnVictim = notOk.filter((a) => {
      const s = served.get(a.rid);
      return a.status === 502 && s?.upstreams.length === 1 && s.upstreams[0] === dead;
    });
    // The app's own back-pressure (503 + Retry-After when its pool is saturated), not nginx's doing.
    const app503 = notOk.filter((a) => a.status === 503 && served.get(a.rid)?.upstreamStatuses.at(-1) === '503');
    const unexplained = notOk.filter((a) => !inFlightOnVictim.includes(a) && !app503.includes(a));
    // Every other attempt was answered 200: no 5xx beyond the POSTs that were on the killed
    // instance, never one without an answer.
    expect(unexplained).toEqual([]);
    // One POST in flight per sender at the kill at most, all answered around the kill.
    expect(inFlightOnVictim.length).toBeLessThanOrEqual(WEBHOOK_SENDERS);
    expect(inFlightOnVictim.every((a) => a.at >= killedAt - 1000 && a.at <= killedAt + 5000)).toBe(true);
    // Connections nginx tried on the dead instance and passed on to a survivor (proxy_next_upstream).
    const retriedToSurvivor = [...served.values()].filter(
      (s) => s.upstreams.length > 1 && s.upstreams[0] === dead && s.status === 200,
    ).length;
    // After the kill, both survivors served the senders.
    const servedAfterKill = attempts.filter((a) => a.at > killedAt + 1000).map((a) => served.get(a.rid));
    for (const p of survivors.map(port))
      expect(servedAfterKill.some((s) => s?.status === 200 && s.upstreams.at(-1) === p)).toBe(true);

    report('three-instances', {
      instances: 3,
      mailboxes: 1 + EXTRA_MAILBOXES,
      webhookSenders: WEBHOOK_SENDERS,
      loadSeconds: Math.round((loadEnded - loadStarted) / 1000),
      killedAtSecond: Math.round((killedAt - loadStarted) / 1000),
      webhookAcknowledged: acked.length,
      acknowledgedBeforeKill: ackedBeforeKill,
      imapImported: imapIds.length,
      lost: lost.length,
      storedTwice: storedTwice.length,
      autoReplies: replyIds.length,
      duplicateAutoReplies: duplicates,
      leasedByKilledInstance: stuck.ids.length,
      leaseExpiry: variant('moved to now', 'waited'),
      takeoverMs,
      firstMailOfKilledMailboxesImportedMs: probeImportedMs,
      takeoverBoundMs: TAKEOVER_BOUND_MS,
      loadAverageAtKill: Math.round(loadAtKill * 10) / 10,
      nginx502InFlightOnKilled: inFlightOnVictim.length,
      nginxRetriedToSurvivor: retriedToSurvivor,
      app503: app503.length,
      otherNon200: unexplained.length,
      webhookAttempts: attempts.length,
      secondsToSettleAfterLoad: Math.round((settledAt - loadEnded) / 1000),
      seconds: Math.round((Date.now() - started) / 1000),
    });
  }, 300_000);
});
