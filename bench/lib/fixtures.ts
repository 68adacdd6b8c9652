import type { Knex } from 'knex';
import { config } from '../../shared/config';
import { hashPassword } from '../../services/gateway/auth/passwords';
import { Tokens } from '../../services/gateway/auth/tokens';
import { layoutFromInput } from '../../shared/seating/layout';

export interface BenchUser {
  id: number;
  token: string;
}

/** A movie and a show tomorrow with `seats` seats in rows of `rowLength`, and a high per-buyer limit. */
export async function createBenchShow(db: Knex, seats: number, rowLength = 40, maxPerUser = 1000): Promise<number> {
  const rows = Array.from({ length: Math.ceil(seats / rowLength) }, (_, i) => Math.min(rowLength, seats - i * rowLength));
  return insertShow(db, seats, rows, maxPerUser);
}

/** A show laid out as POST /shows lays out `total_seats` (at most 26 rows), with a high per-buyer limit. */
export async function createLaunchShow(db: Knex, seats: number, maxPerUser = 100_000): Promise<number> {
  return insertShow(db, seats, layoutFromInput({ total_seats: seats }), maxPerUser);
}

async function insertShow(db: Knex, seats: number, rows: number[], maxPerUser: number): Promise<number> {
  const [movie] = await db('movies').insert({ title: 'Launch night', duration_minutes: 120, description: 'benchmark' }).returning('id');
  const [show] = await db('shows').insert({
    movie_id: movie.id, screen_name: 'Screen 1', date_time: new Date(Date.now() + 24 * 3600_000), total_seats: seats,
    row_lengths: rows, max_seats_per_user: maxPerUser, sales_open_at: null,
  }).returning('id');
  return show.id;
}

/** Inserts `n` customers sharing one password hash and signs an access token for each with the run's JWT secret. */
export async function createBenchUsers(db: Knex, n: number, tag: string): Promise<BenchUser[]> {
  const hash = await hashPassword('bench-password-123');
  const tokens = new Tokens(config());
  const users: BenchUser[] = [];
  for (let start = 0; start < n; start += 2000) {
    const rows = Array.from({ length: Math.min(2000, n - start) }, (_, i) => {
      const username = `bench_${tag}_${start + i}`;
      return { username, email: `${username}@bench.invalid`, password_hash: hash, role: 'customer' };
    });
    const ids: { id: number; username: string }[] = await db('users').insert(rows).returning(['id', 'username']);
    for (const u of ids) users.push({ id: u.id, token: tokens.sign({ id: u.id, role: 'customer', username: u.username }, 'access') });
  }
  return users;
}
