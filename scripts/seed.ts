import { config, ConfigError } from '../shared/config';
import { createDb } from '../shared/db';
import { seed } from './demo-data';

/** npm run seed: idempotent demo data and the admin (ADMIN_USERNAME / ADMIN_PASSWORD). */
const db = createDb(config().DATABASE_URL, 2);
seed(db)
  .then((counts) => console.log(JSON.stringify({ msg: 'seeded', ...counts, admin: config().ADMIN_USERNAME })))
  .catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => db.destroy());
