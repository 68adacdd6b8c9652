import type { Knex } from 'knex';
import { config } from '../shared/config';
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

/**
 * Creates the user unless the username exists. An existing user is never changed: in particular a
 * customer who registered the admin's username is not promoted (that would hand them the admin role).
 */
async function ensureUser(db: Knex, username: string, email: string, password: string, role: 'customer' | 'admin') {
  const found = await User.query(db).findOne({ username });
  if (found && found.role !== role) {
    throw new Error(`User ${username} already exists as a ${found.role}; choose another ADMIN_USERNAME or fix that account by hand`);
  }
  if (found) return found;
  return User.query(db).insert({ username, email, password_hash: await hashPassword(password), role });
}

export interface SeedAdmin {
  username: string;
  password: string;
}

/** Idempotent demo data: movies with upcoming shows, two customers and the admin (ADMIN_USERNAME / ADMIN_PASSWORD). */
export async function seed(db: Knex, admin: SeedAdmin = { username: config().ADMIN_USERNAME, password: config().ADMIN_PASSWORD }) {
  await ensureUser(db, admin.username, `${admin.username}@boxoffice.local`, admin.password, 'admin');
  for (const u of DEMO_USERS) await ensureUser(db, u.username, u.email, 'password123', 'customer');
  const day = 24 * 3600 * 1000;
  for (const [i, m] of MOVIES.entries()) {
    const movie = (await Movie.query(db).findOne({ title: m.title })) ?? (await Movie.query(db).insert(m));
    const upcoming = await Show.query(db).where('movie_id', movie.id).where('date_time', '>', new Date()).first();
    if (upcoming) continue;
    for (let d = 1; d <= 2; d++) {
      const at = new Date(Math.ceil((Date.now() + d * day) / 3600_000) * 3600_000 + i * 2 * 3600_000);
      await Show.query(db).insert({ movie_id: movie.id, screen_name: `Screen ${i + 1}`, date_time: at, total_seats: 100, row_lengths: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10] } as Partial<Show>);
    }
  }
  const [movies, shows, users] = await Promise.all([Movie.query(db).resultSize(), Show.query(db).resultSize(), User.query(db).resultSize()]);
  return { movies, shows, users };
}
