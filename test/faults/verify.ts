import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Knex } from 'knex';
import { checkInvariants, InvariantReport, waitForOutcomes } from '../support/invariants';
import { createUser } from '../support/fixtures';
import { inDatabase } from './fault-env';
import { expectedRequestId, isAcknowledged, OpResult, perform, SHOW_SEATS } from './burst';
import { FaultRow, recordRow } from './report';
import type { QueueProbe, Stack } from './stack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Settled {
  row: FaultRow;
  report: InvariantReport;
  /** Final answers (201/200/409...) that disagree with the stored outcome. */
  answerMismatches: string[];
  /** Acknowledged requests whose job id is not the one derived from their Idempotency-Key. */
  wrongIds: string[];
  /** Answers that were no documented outcome: 5xx other than 503, or no answer at all. */
  errors: OpResult[];
  /** Outcomes recorded as INTERNAL (a job that ran out of tries). */
  internal: string[];
  /** Jobs of the show still waiting, running or scheduled in Redis after the outcomes arrived. */
  unfinished: number;
}

async function storedOutcomes(db: Knex, ids: string[]): Promise<Map<string, { status: string; error: { code: string } | null }>> {
  const rows = await db('requests').whereIn('id', ids).select('id', 'status', 'error');
  return new Map(rows.map((r: any) => [r.id, r]));
}

/** A final answer must say what Postgres stored: 2xx for completed, the same error code for failed. */
function disagreement(r: OpResult, stored: { status: string; error: { code: string } | null } | undefined): string | undefined {
  if (r.status === 202 || !stored) return undefined;
  const ok = r.status < 300 ? stored.status === 'completed' : stored.status === 'failed' && stored.error?.code === r.body?.error?.code;
  return ok ? undefined : `${r.jobId}: answered ${r.status} ${r.body?.error?.code ?? ''}, stored ${stored.status} ${stored.error?.code ?? ''}`;
}

async function waitUntilDrained(queues: QueueProbe, showId: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await queues.unfinished(showId).catch(() => -1);
    if (n === 0 || Date.now() > deadline) return n;
    await sleep(100);
  }
}

/** The answers that acknowledged nothing, counted by status and code (e.g. `503 SERVICE_UNAVAILABLE x3`). */
function refusals(results: OpResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results.filter((x) => !isAcknowledged(x))) {
    const key = `${r.status} ${r.body?.error?.code ?? ''}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k} x${n}`).join(', ');
}

/**
 * Waits for every acknowledged request's outcome, runs the invariant check, compares each final
 * answer with the stored outcome, and records the scenario's row in the fault table.
 */
export async function settle(scenario: string, db: Knex, queues: QueueProbe, showId: number, results: OpResult[]): Promise<Settled> {
  const acked = results.filter(isAcknowledged);
  const ids = [...new Set(acked.map((r) => r.jobId!))];
  await waitForOutcomes(db, ids, 90_000);
  const unfinished = await waitUntilDrained(queues, showId, 20_000);
  const report = await checkInvariants(db, showId, ids);
  const stored = await storedOutcomes(db, ids);
  const answerMismatches = acked.map((r) => disagreement(r, stored.get(r.jobId!))).filter((x): x is string => x !== undefined);
  const wrongIds = acked.filter((r) => r.jobId !== expectedRequestId(r.op)).map((r) => `${r.jobId} (expected ${expectedRequestId(r.op)})`);
  const errors = results.filter((r) => r.status === 0 || (r.status >= 500 && r.status !== 503));
  const internal = await db('requests').where({ show_id: showId }).whereRaw("error->>'code' = 'INTERNAL'").pluck('id');
  const lastOutcome = await db('requests').whereIn('id', ids).max('finished_at as t').first();
  const start = Math.min(...results.map((r) => r.sentAt));
  const end = Math.max(new Date(lastOutcome?.t ?? 0).getTime(), ...results.map((r) => r.answeredAt));
  const row: FaultRow = {
    scenario, sent: results.length, acknowledged: ids.length, outcomes: report.outcomes, duplicates: report.duplicates,
    lost: report.lost.length, retried: results.filter((r) => r.attempts.length > 1).length, errors: errors.length + internal.length,
    seconds: Math.round((end - start) / 100) / 10,
  };
  recordRow(row, refusals(results));
  return { row, report, answerMismatches, wrongIds, errors, internal, unfinished };
}

/** The checks every scenario ends with. */
export function expectInvariants(s: Settled) {
  expect(s.report.duplicates, 'seats booked twice').to.equal(0);
  expect(s.report.lost, 'acknowledged requests without an outcome').to.deep.equal([]);
  expect(s.report.mismatched, 'outcomes that disagree with the bookings').to.deep.equal([]);
  expect(s.report.counter, 'shows.active_seats').to.equal(s.report.activeSeats);
  expect(s.answerMismatches, 'answers that disagree with the stored outcome').to.deep.equal([]);
  expect(s.wrongIds, 'answers naming another job').to.deep.equal([]);
  expect(s.errors.map((r) => `${r.status} ${JSON.stringify(r.body)}`), 'answers that were no outcome and no 503').to.deep.equal([]);
  expect(s.internal, 'jobs that ran out of tries').to.deep.equal([]);
  expect(s.unfinished, 'jobs left on the queue').to.equal(0);
  expect(s.row.acknowledged, 'acknowledged requests').to.be.greaterThan(s.row.sent / 2);
}

/** After the fault: a new booking of a free seat goes through the same gateway and workers and answers 201. */
export async function expectRecovered(db: Knex, baseUrl: string, showId: number) {
  const user = await inDatabase(db, () => createUser());
  const taken = new Set<number>(await db('bookings').where({ show_id: showId }).whereIn('status', ['booked', 'held']).pluck('seat_number'));
  const seat = Array.from({ length: SHOW_SEATS }, (_, i) => SHOW_SEATS - i).find((n) => !taken.has(n));
  expect(seat, 'a free seat for the recovery probe').to.not.equal(undefined);
  const res = await perform(baseUrl, { kind: 'book', user, showId, seats: [seat!], key: randomUUID(), respondAsync: false }, 30_000);
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
}

/** Every process of the stack is still running (none needed a manual restart). */
export function expectAlive(stack: Stack) {
  expect(stack.alive(), `gateway and workers running\n${stack.deaths()}`).to.equal(true);
}
