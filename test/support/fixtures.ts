import { randomBytes } from 'node:crypto';
import { config } from '../../shared/config';
import { Movie, Show, User } from '../../shared/db/models';
import type { Role } from '../../shared/db/models';
import { hashPassword } from '../../services/gateway/auth/passwords';
import { Tokens } from '../../services/gateway/auth/tokens';
import { testDb } from './gateway';

export const TEST_PASSWORD = 'correct-horse-battery';
let passwordHash: Promise<string> | undefined;
let tokens: Tokens | undefined;

export interface TestUser {
  id: number;
  username: string;
  role: Role;
  token: string;
}

/** Inserts a user directly (one scrypt hash per run) and mints an access token for it. */
export async function createUser(role: Role = 'customer'): Promise<TestUser> {
  testDb();
  passwordHash ??= hashPassword(TEST_PASSWORD);
  tokens ??= new Tokens(config());
  const username = `u_${randomBytes(6).toString('hex')}`;
  const user = await User.query().insert({ username, email: `${username}@example.com`, password_hash: await passwordHash, role });
  return { id: user.id, username, role, token: tokens.sign(user, 'access') };
}

export async function createUsers(n: number, role: Role = 'customer'): Promise<TestUser[]> {
  const out: TestUser[] = [];
  for (let i = 0; i < n; i++) out.push(await createUser(role));
  return out;
}

export interface ShowOptions {
  total_seats?: number;
  row_lengths?: number[];
  max_seats_per_user?: number;
  sales_open_at?: Date | null;
  date_time?: Date;
}

/** Inserts a movie and a show starting tomorrow (or as given); the layout defaults to rows of 10. */
export async function createShow(opts: ShowOptions = {}): Promise<Show> {
  testDb();
  const movie = await Movie.query().insert({ title: `Movie ${randomBytes(3).toString('hex')}`, duration_minutes: 100, description: '' });
  const total = opts.row_lengths ? opts.row_lengths.reduce((a, b) => a + b, 0) : (opts.total_seats ?? 100);
  const rows = opts.row_lengths ?? Array.from({ length: Math.ceil(total / 10) }, (_, i) => Math.min(10, total - i * 10));
  return Show.query().insert({
    movie_id: movie.id, screen_name: 'Screen 1', date_time: opts.date_time ?? new Date(Date.now() + 24 * 3600_000),
    total_seats: total, row_lengths: rows, max_seats_per_user: opts.max_seats_per_user ?? 10,
    sales_open_at: opts.sales_open_at ?? null,
  } as Partial<Show>);
}
