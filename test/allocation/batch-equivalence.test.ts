import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { BookJob, Outcome } from '../../shared/queue/jobs';
import { bookBestAvailable, bookSeats } from '../../services/worker/allocation/allocate';
import { BatchAllocator } from '../../services/worker/allocation/allocate-batch';
import { createShow, createUsers, TestUser } from '../support/fixtures';
import { testDb } from '../support/gateway';

type Ask = { user: number; seats?: number[]; quantity?: number; hold?: boolean; again?: number };

/** The mixed requests both runs get, in this order (`again` repeats an earlier request id). */
const ASKS: Ask[] = [
  { user: 0, seats: [1] }, { user: 1, seats: [1] }, { user: 2, seats: [2, 3] }, { user: 3, quantity: 2 },
  { user: 4, seats: [3, 4] }, { user: 0, seats: [5, 6, 7] }, { user: 0, seats: [8, 9] }, { user: 5, quantity: 3, hold: true },
  { user: 6, seats: [41] }, { user: 7, quantity: 4 }, { user: 1, seats: [10], hold: true }, { user: 2, quantity: 1 },
  { user: 3, seats: [1] }, { user: 8, again: 0 }, { user: 9, again: 7 }, { user: 4, quantity: 5 }, { user: 5, seats: [40] },
  { user: 6, quantity: 2 }, { user: 7, seats: [11, 12] }, { user: 8, quantity: 30 }, { user: 9, seats: [13] },
];

/** What must match between the runs: everything but ids and timestamps. */
function comparable(o: Outcome) {
  const bookings = ((o.result?.bookings ?? []) as { seat_number: number; seat_label: string; status: string }[])
    .map((b) => `${b.seat_number}/${b.seat_label}/${b.status}`);
  return { status: o.status, error: o.error, bookings, held: !!o.result?.expires_at, available: o.available_seats ?? null, replayed: !!o.replayed };
}

function jobsFor(showId: number, users: TestUser[]): BookJob[] {
  const jobs: BookJob[] = [];
  ASKS.forEach((a) => {
    const again = a.again !== undefined ? jobs[a.again] : undefined;
    jobs.push(again ?? {
      type: 'book', request_id: `${showId}-${randomUUID().replace(/-/g, '')}`, user_id: users[a.user].id, show_id: showId,
      ...(a.seats ? { seats: a.seats } : { quantity: a.quantity, allow_split: false }), hold: a.hold ?? false,
      created_at: new Date().toISOString(), body_hash: 'test',
    });
  });
  return jobs;
}

describe('allocation in batches', function () {
  this.timeout(60_000);

  it('when mixed requests are allocated in one batch, then each outcome equals the outcome of running them one at a time', async () => {
    const users = await createUsers(10);
    const layout = { row_lengths: [10, 10, 10, 10, 8], max_seats_per_user: 5 };
    const [alone, batched] = [await createShow(layout), await createShow(layout)];
    const one: Outcome[] = [];
    for (const job of jobsFor(alone.id, users)) {
      one.push(job.seats ? await bookSeats(testDb(), job, job.seats, 600) : await bookBestAvailable(testDb(), job, 600));
    }
    const many = await new BatchAllocator(testDb(), 600).allocate(jobsFor(batched.id, users));

    expect(many.map(comparable)).to.deep.equal(one.map(comparable));
    const codes = new Set(one.map((o) => o.error?.code ?? 'completed'));
    expect([...codes].sort()).to.include.members(['LIMIT_EXCEEDED', 'SEAT_TAKEN', 'SOLD_OUT', 'completed']);
    expect(one.filter((o) => o.replayed)).to.have.length(2);
  });

  it('when batches follow each other on one show, then the kept seat map never hands out a taken seat', async () => {
    const users = await createUsers(20);
    const show = await createShow({ row_lengths: [12, 12, 12, 12, 12], max_seats_per_user: 60 });
    const allocator = new BatchAllocator(testDb(), 600);
    const booked: number[] = [];
    for (let round = 0; round < 6; round++) {
      const jobs: BookJob[] = users.slice(0, 8).map((u, i) => ({
        type: 'book', request_id: `${show.id}-${randomUUID().replace(/-/g, '')}`, user_id: u.id, show_id: show.id,
        ...(i % 2 ? { quantity: 1 + (i % 3), allow_split: true } : { seats: [1 + ((round * 8 + i) * 7) % 60] }),
        hold: false, created_at: new Date().toISOString(), body_hash: 'test',
      }));
      // Between batches another writer takes a seat, so the kept map must be noticed as stale.
      if (round === 3) await bookSeats(testDb(), { ...jobs[0], request_id: `${show.id}-${randomUUID().replace(/-/g, '')}`, seats: [60] }, [60], 0);
      for (const o of await allocator.allocate(jobs)) {
        booked.push(...((o.result?.bookings ?? []) as { seat_number: number }[]).map((b) => b.seat_number));
      }
    }
    expect(new Set(booked).size).to.equal(booked.length);
    const active = await testDb()('bookings').where('show_id', show.id).whereIn('status', ['booked', 'held']).count('* as n');
    expect(Number(active[0].n)).to.equal(booked.length + (booked.includes(60) ? 0 : 1));
  });
});
