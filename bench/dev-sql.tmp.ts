import { randomBytes } from 'node:crypto';
import { createBenchShow, createBenchUsers } from './lib/fixtures';
import { BenchStack, benchEnv } from './lib/stack';
async function main() {
  const tag = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const stack = new BenchStack(benchEnv({ tag, logLevel: 'warn', holdSeconds: 600, extraEnv: {} }));
  try {
    const db = await stack.prepareDatabase();
    const users = await createBenchUsers(db, 2000, tag);
    const show = await createBenchShow(db, 20000, 40, 100000);
    const jobs = (k: number, off: number) => Array.from({ length: k }, (_, i) => ({ request_id: `${show}-t${off + i}`, user_id: users[(off + i) % 2000].id, show_id: show, seats: [1 + ((off + i) * 7919) % 20000], hold_seconds: 0, created_at: new Date().toISOString() }));
    for (const k of [1, 16, 64, 64, 64]) {
      const t = performance.now();
      await db.raw('SELECT bx_book_batch(?::jsonb)', [JSON.stringify(jobs(k, Math.floor(Math.random() * 1e6)))]);
      console.log('batch', k, ((performance.now() - t)).toFixed(1), 'ms total');
    }
    await db.transaction(async (trx) => {
      await trx.raw(`SET LOCAL track_functions = 'all'`);
      for (let i = 0; i < 5; i++) await trx.raw('SELECT bx_book_batch(?::jsonb)', [JSON.stringify(jobs(64, 7e6 + i * 100))]);
      const st = await trx.raw(`SELECT funcname, calls, round(total_time::numeric,1) total, round(self_time::numeric,1) self FROM pg_stat_get_xact_function_calls(0) x RIGHT JOIN pg_stat_xact_user_functions f ON true ORDER BY self_time DESC`).catch((e: Error) => ({ rows: [e.message] }));
      console.log(st.rows);
    });
    const r = await db.raw(`EXPLAIN (ANALYZE, BUFFERS) SELECT bx_book_batch(?::jsonb)`, [JSON.stringify(jobs(64, 5e6))]);
    console.log(r.rows.map((x: any) => x['QUERY PLAN']).join('\n'));
    await db.raw(`LOAD 'auto_explain'`).catch(() => undefined);
    const t2 = performance.now();
    await db.raw(`SELECT bx_book(?, ?, ?, ?::integer[], 0, now())`, [`${show}-zz`, users[0].id, show, [19999]]);
    console.log('single', (performance.now() - t2).toFixed(2));
  } finally { await stack.teardown(false); }
}
main().catch((e) => { console.error(e); process.exit(1); });
