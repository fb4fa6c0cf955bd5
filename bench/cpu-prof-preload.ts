/**
 * Preloaded with `NODE_OPTIONS=--require` (the --cpu-prof flag is not allowed there): profiles the
 * whole process with the inspector and writes MAILDESK_CPU_PROF (a .cpuprofile) at exit. Worker
 * threads load it too (the parse threads): each writes `<name>.worker-<threadId>-<n>.cpuprofile`
 * every 10 s instead (a terminated thread gets no 'exit' event), n counting up.
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import { isMainThread, threadId } from 'node:worker_threads';

const target = process.env.MAILDESK_CPU_PROF;
if (target) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  if (isMainThread) {
    process.on('exit', () => {
      // Same-thread session: the callback runs synchronously, so this works inside 'exit'.
      session.post('Profiler.stop', (err, result) => {
        if (!err) fs.writeFileSync(target, JSON.stringify(result.profile));
      });
    });
  } else {
    let n = 0;
    setInterval(() => {
      session.post('Profiler.stop', (err, result) => {
        if (!err)
          fs.writeFileSync(
            target.replace(/\.cpuprofile$/, `.worker-${threadId}-${n++}.cpuprofile`),
            JSON.stringify(result.profile),
          );
        session.post('Profiler.start');
      });
    }, 10_000).unref();
  }
}
