import { config, ConfigError } from '../shared/config';
import { createDb, ensureDatabase, migrate } from '../shared/db';
import { startGateway } from '../services/gateway/gateway';
import { startWorker } from '../services/worker/worker';
import { seed } from './demo-data';

/** npm start: migrate (and seed demo data outside production), then the gateway and one worker in this process. */
async function main() {
  const cfg = config();
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  try {
    await migrate(db);
    if (cfg.NODE_ENV !== 'production') await seed(db);
  } finally {
    await db.destroy();
  }
  const worker = await startWorker();
  const gateway = await startGateway();
  console.log(JSON.stringify({ msg: `Boxoffice is up: http://localhost:${gateway.port}/docs` }));
  const stop = () => {
    Promise.all([gateway.close(), worker.close()]).then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
