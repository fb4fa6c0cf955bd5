import { createDatabase, main, startApp, BENCH_TOKEN } from './lib';
import { makeMail, planMails } from './emails';
import { Client } from 'pg';

/** Dev helper: posts a few mails with log_statement=all on a fresh database (statements in the PG log). */
main(module, async () => {
  const db = await createDatabase('bench_capture');
  const c = new Client({ connectionString: db.url });
  await c.connect();
  await c.query(`ALTER DATABASE ${db.name} SET log_statement = 'all'`);
  await c.end();
  const app = await startApp({ DATABASE_URL: db.url, DATA_DIR: `/tmp/${db.name}` });
  const plan = planMails(8, 2, 1);
  for (let i = 0; i < 8; i++) {
    const m = makeMail(plan, i, 'cap', 3);
    const res = await fetch(`${app.base}/inbound/mail`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'message/rfc822' },
      body: m.raw,
    });
    console.log(i, plan.order[i], !!m.attachment, res.status, await res.text());
  }
  await new Promise((r) => setTimeout(r, 1500));
  await app.stop();
  console.log('db', db.name);
  await db.drop();
});
