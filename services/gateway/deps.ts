import type { Knex } from 'knex';
import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/logger';
import type { ShowQueues } from '../../shared/queue/producer';
import type { ResultWaiter } from '../../shared/queue/results';
import type { RedisClient } from '../../shared/redis';
import type { Tokens } from './auth/tokens';
import type { UserChanges } from './auth/user-changes';
import type { UserDirectory } from './auth/user-directory';
import type { ShowCache } from './catalog/show-cache';
import type { Admission } from './security/admission';
import type { LoginLimiter } from './security/login-limiter';

/** Everything the gateway's components share, built once at startup. */
export interface GatewayDeps {
  cfg: Config;
  db: Knex;
  redis: RedisClient;
  queues: ShowQueues;
  waiter: ResultWaiter;
  tokens: Tokens;
  users: UserDirectory;
  /** Deletions and role changes of users, as Postgres notifies them. */
  userChanges: UserChanges;
  shows: ShowCache;
  /** Per-user booking budget and per-show queue depth limit. */
  admission: Admission;
  /** Failed-login counts per username and per client address (Redis). */
  loginLimiter: LoginLimiter;
  log: Logger;
  /** Aborted when the gateway starts shutting down: waiting callers answer 202 at once. */
  shutdown: AbortSignal;
}

/** The authenticated caller, from the access token. */
export interface Caller {
  id: number;
  role: 'customer' | 'admin';
  username: string;
}
