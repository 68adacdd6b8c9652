import './env';
import { config } from '../../shared/config';
import { createDb, ensureDatabase, migrate } from '../../shared/db';
import { createRedis, deleteKeys } from '../../shared/redis';
import { closeAll } from './cleanup';

/** Root hooks: a fresh database migrated before the suite; database and keys removed after it. */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    const cfg = config();
    await ensureDatabase(cfg.DATABASE_URL);
    const db = createDb(cfg.DATABASE_URL, 2);
    await migrate(db);
    await db.destroy();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await closeAll();
    const cfg = config();
    const name = new URL(cfg.DATABASE_URL).pathname.slice(1);
    const admin = new URL(cfg.DATABASE_URL);
    admin.pathname = '/postgres';
    const db = createDb(admin.toString(), 1);
    await db.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]).catch(() => undefined);
    await db.destroy();
    const redis = createRedis({ blocking: true, name: 'test-cleanup' });
    await deleteKeys(redis, `${cfg.QUEUE_PREFIX}:*`);
    await redis.quit();
  },
};
