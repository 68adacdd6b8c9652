import { Worker, Queue } from 'bullmq';
import { startLocalCluster } from '../test/cluster/local-redis';
import { connectionsTo } from '../test/cluster/process-sockets';
import { createRedis, waitReady } from '../shared/redis';
(async () => {
  const c = process.argv[2] === 'single' ? { url: 'redis://127.0.0.1:6379', ports: [6379], stop: async () => {} } : await startLocalCluster(3);
  const bull = createRedis({ blocking: true, url: c.url, name: 'x' });
  await waitReady(bull);
  const n = () => connectionsTo(process.pid, c.ports);
  console.log('base', n());
  for (const delay of [0, 5, 20, 50, 200]) {
    const ws: Worker[] = [];
    for (let i = 0; i < 20; i++) {
      ws.push(new Worker(`{atttd-${i}}`, async () => 1, { connection: bull as never, prefix: 'attt', concurrency: 1, drainDelay: 2 }));
    }
    await new Promise((r) => setTimeout(r, delay));
    await Promise.all(ws.map((w) => w.close()));
    await new Promise((r) => setTimeout(r, 2000));
    console.log('close after', delay, 'ms ->', n());
  }
  await bull.quit();
  await c.stop();
})();
