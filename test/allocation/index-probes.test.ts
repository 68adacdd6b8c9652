import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { config } from '../../shared/config';
import { createShow, createUsers } from '../support/fixtures';

/**
 * A worker's session keeps the plans its allocation functions made, and it often makes them while
 * a show's tables are nearly empty. Here the session is told a sequential scan costs nothing,
 * which is what a nearly empty, never analysed table looks like to the planner.
 */
describe('allocation functions: index probes whatever the planner estimates', function () {
  this.timeout(30_000);

  it('when sequential scans look free to the session, then a batch still looks its requests, seats and buyers up by index', async () => {
    const show = await createShow({ total_seats: 20 });
    const [buyer] = await createUsers(1);
    const client = new Client({ connectionString: config().DATABASE_URL });
    await client.connect();
    const plans: string[] = [];
    client.on('notice', (n) => plans.push(n.message ?? ''));
    try {
      for (const sql of ["LOAD 'auto_explain'", 'SET auto_explain.log_min_duration = 0', 'SET auto_explain.log_nested_statements = on',
        'SET auto_explain.log_level = notice', 'SET seq_page_cost = 0', 'SET cpu_tuple_cost = 0', 'SET random_page_cost = 100']) await client.query(sql);
      const job = { request_id: `${show.id}-${randomUUID()}`, user_id: buyer.id, show_id: show.id, seats: [3], hold_seconds: 0, created_at: new Date().toISOString() };
      const [outcome] = (await client.query('SELECT bx_book_batch($1::jsonb) AS o', [JSON.stringify([job])])).rows[0].o;
      expect(outcome.status).to.equal('completed');
    } finally {
      await client.end();
    }
    const probes = plans.filter((p) => /FROM requests r WHERE r\.id = ANY|FROM bookings b\s+WHERE b\.show_id = v_show_id/.test(p));
    expect(probes, plans.join('\n---\n')).to.have.length(3);
    for (const plan of probes) {
      expect(plan).to.match(/Index (Only )?Scan|Bitmap Index Scan/);
      expect(plan).not.to.match(/Seq Scan on (requests|bookings)/);
    }
  });
});
