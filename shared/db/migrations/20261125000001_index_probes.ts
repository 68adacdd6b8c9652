import type { Knex } from 'knex';

/**
 * The allocation functions look rows up by key (request id, seat, buyer, booking): index probes,
 * whatever the planner's statistics say. PL/pgSQL keeps a statement's plan for the session, and
 * a worker's session often starts while a show's tables are nearly empty and not yet analysed:
 * planned then, `requests.id = ANY (...)` became a scan of the whole table, kept while the table
 * grew (a batch of 64 cost 12 ms of Postgres CPU once 20,000 requests were stored). With
 * sequential scans off inside these functions, every plan they make uses the indexes.
 */
const FUNCTIONS = ['bx_book_batch(jsonb)', 'bx_cancel(text, integer, integer, timestamptz)', 'bx_confirm(text, integer, integer, timestamptz)', 'bx_expire_hold(integer, text)'];

export async function up(knex: Knex): Promise<void> {
  for (const fn of FUNCTIONS) await knex.raw(`ALTER FUNCTION ${fn} SET enable_seqscan = off`);
}

export async function down(knex: Knex): Promise<void> {
  for (const fn of FUNCTIONS) await knex.raw(`ALTER FUNCTION ${fn} RESET enable_seqscan`);
}
