import { Knex } from 'knex';
import { config } from '../../shared/config';
import { createDb } from '../../shared/db';
import { RunningGateway, startGateway } from '../../services/gateway/gateway';
import { until } from '../ops/processes';
import { onCleanup } from './cleanup';
import { client, Client } from './http';

export interface TestGateway {
  gw: RunningGateway;
  url: string;
  api: Client;
}

/** Starts the real gateway in this process on a free port (stopped after the suite, or by `gw.close()`). */
export async function startTestGateway(): Promise<TestGateway> {
  const gw = await startGateway({ port: 0 });
  onCleanup(() => gw.close());
  const url = `http://127.0.0.1:${gw.port}`;
  return { gw, url, api: client(url) };
}

let db: Knex | undefined;

/** A knex handle on the test database (also binds the objection models). */
export function testDb(): Knex {
  if (!db) {
    db = createDb(config().DATABASE_URL, 5);
    onCleanup(async () => {
      await db?.destroy();
      db = undefined;
    });
  }
  return db;
}

/** Resolves once the gateway has heard from Postgres that the user was deleted or changed role. */
export async function heardOfChange(gw: RunningGateway, userId: number, timeoutMs = 2000): Promise<void> {
  await until(() => !gw.deps.userChanges.unchanged(userId), timeoutMs, `the gateway hearing of user ${userId}'s change`);
}
