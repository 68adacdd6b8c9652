import { Knex } from 'knex';
import { Model } from 'objection';
import { config, Config } from '../../shared/config';
import { createDb } from '../../shared/db';
import type { Logger } from '../../shared/logger';
import { RunningGateway, startGateway } from '../../services/gateway/gateway';
import { until } from '../ops/processes';
import { onCleanup } from './cleanup';
import { client, Client } from './http';

export interface TestGateway {
  gw: RunningGateway;
  url: string;
  api: Client;
}

/**
 * Starts the real gateway in this process on a free port, with `overrides` on top of the config
 * (and `log` instead of its own logger, when given). A suite stops it with `stopTestGateway`;
 * anything left running is stopped after the run.
 */
export async function startTestGateway(overrides: Partial<Config> = {}, log?: Logger): Promise<TestGateway> {
  const gw = await startGateway({ port: 0, cfg: { ...config(), ...overrides }, log });
  onCleanup(() => gw.close());
  const url = `http://127.0.0.1:${gw.port}`;
  return { gw, url, api: client(url) };
}

/**
 * Stops a suite's gateway once the suite is done, rather than with everything else after the run.
 * A gateway holds two Postgres connections for as long as it runs (its change feed's listener, and
 * the pooled one its heartbeats keep open); the suites' gateways held to the end of the run came
 * close to the server's 100. Objection's models are bound to the last database handle made, which
 * may be this gateway's: they are bound to the test database's handle again.
 */
export async function stopTestGateway(t: TestGateway | undefined): Promise<void> {
  if (!t) return;
  await t.gw.close();
  Model.knex(testDb());
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
