import type { Knex } from 'knex';

/**
 * bx_book_batch: books several queued requests of one show in one statement (so one round trip
 * and one commit), in the given order, each exactly as bx_book would on its own.
 */
const SQL = `
CREATE FUNCTION bx_book_batch(p_jobs jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_job jsonb;
  v_out jsonb[] := '{}';
BEGIN
  FOR i IN 0 .. coalesce(jsonb_array_length(p_jobs), 0) - 1 LOOP
    v_job := p_jobs -> i;
    v_out := v_out || bx_book(v_job ->> 'request_id', (v_job ->> 'user_id')::integer, (v_job ->> 'show_id')::integer,
                              ARRAY(SELECT jsonb_array_elements_text(v_job -> 'seats')::integer),
                              (v_job ->> 'hold_seconds')::integer, (v_job ->> 'created_at')::timestamptz);
  END LOOP;
  RETURN to_jsonb(v_out);
END $$;
`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(SQL);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS bx_book_batch');
}
