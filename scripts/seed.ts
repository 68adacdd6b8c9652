import type { Knex } from 'knex';
import { config, ConfigError } from '../shared/config';
import { createDb } from '../shared/db';
import { Movie, Show, User } from '../shared/db/models';
import { hashPassword } from '../services/gateway/auth/passwords';

const MOVIES = [
  { title: 'The Grand Premiere', duration_minutes: 128, description: 'An opening night nobody forgets.' },
  { title: 'Midnight Matinee', duration_minutes: 97, description: 'A thriller set in an empty cinema.' },
  { title: 'Orbit', duration_minutes: 142, description: 'Six astronauts, one way home.' },
];

const DEMO_USERS = [
  { username: 'john_doe', email: 'john@example.com' },
  { username: 'jane_smith', email: 'jane@example.com' },
];

async function ensureUser(username: string, email: string, password: string, role: 'customer' | 'admin') {
  const found = await User.query().findOne({ username });
  if (found) return found;
  return User.query().insert({ username, email, password_hash: await hashPassword(password), role });
}

/** Idempotent demo data: movies with future shows, two customers and the admin. */
export async function seed(db: Knex): Promise<{ movies: number; shows: number; users: number }> {
  const cfg = config();
  await ensureUser(cfg.ADMIN_USERNAME, `${cfg.ADMIN_USERNAME}@boxoffice.local`, cfg.ADMIN_PASSWORD, 'admin');
  for (const u of DEMO_USERS) await ensureUser(u.username, u.email, 'password123', 'customer');
  const day = 24 * 3600 * 1000;
  for (const [i, m] of MOVIES.entries()) {
    const movie = (await Movie.query(db).findOne({ title: m.title })) ?? (await Movie.query(db).insert(m));
    const hasShows = await Show.query(db).where('movie_id', movie.id).first();
    if (hasShows) continue;
    for (let d = 1; d <= 2; d++) {
      const at = new Date(Math.ceil((Date.now() + d * day) / 3600_000) * 3600_000 + i * 2 * 3600_000);
      await Show.query(db).insert({ movie_id: movie.id, screen_name: `Screen ${i + 1}`, date_time: at, total_seats: 100, row_lengths: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10] } as Partial<Show>);
    }
  }
  const [movies, shows, users] = await Promise.all([Movie.query(db).resultSize(), Show.query(db).resultSize(), User.query(db).resultSize()]);
  return { movies, shows, users };
}

if (require.main === module) {
  const db = createDb(undefined, 2);
  seed(db)
    .then((counts) => console.log(JSON.stringify({ msg: 'seeded', ...counts, admin: config().ADMIN_USERNAME })))
    .catch((err) => {
      console.error(err instanceof ConfigError ? err.message : err);
      process.exitCode = 1;
    })
    .finally(() => db.destroy());
}
