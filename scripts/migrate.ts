import { config, ConfigError } from '../shared/config';
import { createDb, ensureDatabase, migrate } from '../shared/db';

/** npm run migrate: creates the database if needed and applies pending migrations. */
async function main() {
  const cfg = config();
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  try {
    const applied = await migrate(db);
    console.log(JSON.stringify({ msg: 'migrated', applied }));
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
