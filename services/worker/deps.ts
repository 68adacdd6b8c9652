import type { Knex } from 'knex';
import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/logger';
import type { ShowQueues } from '../../shared/queue/producer';
import type { RedisClient } from '../../shared/redis';

export interface WorkerDeps {
  cfg: Config;
  db: Knex;
  /** Non-blocking commands: publishing outcomes, stats, the due-shows registry. */
  redis: RedisClient;
  /** Shared client handed to BullMQ workers (each adds its own blocking connection). */
  bullClient: RedisClient;
  queues: ShowQueues;
  log: Logger;
}
