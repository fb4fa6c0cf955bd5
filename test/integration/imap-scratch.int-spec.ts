import { execSync } from 'node:child_process';
import { startDovecot } from '../setup/dovecot';
it('scratch', async () => {
  const d = await startDovecot();
  const c = await d.client();
  c.on('close', () => console.log('CLOSE event'));
  await c.mailboxOpen('INBOX');
  console.log(execSync('ps -ef | grep [d]ovecot').toString());
  const t0 = Date.now();
  await d.restart();
  console.log('restart ms', Date.now() - t0, 'usable', c.usable);
  console.log(execSync('ps -ef | grep [d]ovecot').toString());
  await c.noop().then(() => console.log('noop ok', c.usable), (e) => console.log('noop err', e.message));
  await d.stop();
}, 30000);
