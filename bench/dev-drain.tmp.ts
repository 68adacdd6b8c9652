import { randomBytes } from 'node:crypto';
import { createBenchShow, createBenchUsers } from './lib/fixtures';
import { fillShowQueue, timeDrain } from './lib/drain';
import { BenchStack, benchEnv } from './lib/stack';
async function main() {
  const n = Number(process.argv[3] ?? 3000);
  const batch = process.argv[4] ?? '64';
  const tag = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const stack = new BenchStack(benchEnv({ tag, logLevel: process.env.LL ?? 'info', holdSeconds: 600, extraEnv: { ALLOCATION_BATCH: batch } }), process.env.PROF);
  try {
    const db = await stack.prepareDatabase();
    const users = await createBenchUsers(db, 2000, tag);
    const show = await createBenchShow(db, 20000, 200, 100000);
    await fillShowQueue(show, 20000, users, n, { best: Number(process.env.BEST ?? 0), hold: Number(process.env.HOLD ?? 0) });
    const w = await stack.startWorker('worker-1');
    const r = await timeDrain(db, show, n, () => w.cpuSeconds());
    const st = require('fs').readFileSync(`/proc/${w.pid}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    console.log(JSON.stringify(r), stack.logDir, 'utime', Number(f[11]) / 100, 'stime', Number(f[12]) / 100);
    await w.stop();
  } finally { await stack.teardown(true); }
}
main().catch((e) => { console.error(e); process.exit(1); });
