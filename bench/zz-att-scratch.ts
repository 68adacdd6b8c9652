import { Worker, Queue } from 'bullmq';
import { startLocalCluster } from '../test/cluster/local-redis';
import { createRedis, waitReady } from '../shared/redis';
(async () => {
  const c = process.argv[2] === 'single' ? { url: 'redis://127.0.0.1:6379', stop: async () => {} } : await startLocalCluster(3);
  const bull = createRedis({ blocking: true, url: c.url, name: 'x' });
  await waitReady(bull);
  for (const mode of ['seq', 'par']) {
  let t = Date.now();
  const ws: Worker[] = [];
  const one = async (i: number) => {
    const q = new Queue(`{attt-${mode}${i}}`, { connection: bull as never, prefix: 'attt', skipWaitingForReady: true });
    await q.setGlobalConcurrency(1);
    ws.push(new Worker(`{attt-${mode}${i}}`, async () => 1, { connection: bull as never, prefix: 'attt', concurrency: 1, drainDelay: 2 }));
  };
  if (mode === 'seq') for (let i = 0; i < 40; i++) await one(i); else await Promise.all(Array.from({ length: 40 }, (_, i) => one(i)));
  console.log(mode, 'created', Date.now() - t);
  await Promise.all(ws.map((w) => w.waitUntilReady()));
  console.log(mode, 'ready', Date.now() - t);
  t = Date.now();
  await Promise.all(ws.map((w) => w.close()));
  console.log(mode, 'closed', Date.now() - t);
  }
  await bull.quit();
  await c.stop();
})();
