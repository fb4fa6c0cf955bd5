/**
 * Preloaded with `NODE_OPTIONS=--require` (the --cpu-prof flag is not allowed there): profiles the
 * whole process with the inspector and writes MAILDESK_CPU_PROF (a .cpuprofile) at exit.
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';

const target = process.env.MAILDESK_CPU_PROF;
if (target) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // Same-thread session: the callback runs synchronously, so this works inside 'exit'.
    session.post('Profiler.stop', (err, result) => {
      if (!err) fs.writeFileSync(target, JSON.stringify(result.profile));
    });
  });
}
