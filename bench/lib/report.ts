import fs from 'node:fs';
import path from 'node:path';
import type { AcceptResult } from './ceilings';
import type { Ceilings } from './ceiling-suite';
import { ceilingTable } from './ceiling-suite';
import type { BurstChecks } from './burst-checks';
import type { ProjectDrainResult } from './drain';
import type { BurstFigures } from './figures';
import type { Machine } from './machine';
import type { ProfileSummary } from './profile-summary';
import type { SoldOutProbe } from './sold-out';
import { round } from './stats';
import { renderChart } from './svg-chart';
import { table } from './table';
import type { WaitersResult } from './waiters';

export interface LaunchReport {
  command: string;
  machine: Machine;
  options: Record<string, unknown>;
  ceilings: Ceilings;
  gatewayAccept: AcceptResult;
  /** The project's workers working off a pre-filled queue of one show (comparable with ceiling b). */
  drain: ProjectDrainResult;
  /** Booking calls at a show that is sold out: answered by the gateway without a job. */
  soldOut: SoldOutProbe;
  burst: BurstFigures;
  /** CPU milliseconds during the burst: gateway per booking call, workers per outcome. */
  burstCpu: { gatewayMsPerCall: number; workerMsPerJob: number };
  waiters?: WaitersResult;
  ratios: Record<string, number>;
  /** The accept ratio of each alternating round (project over ceiling (a)). */
  acceptRounds: number[];
  targets: { name: string; value: string; target: string; met: boolean }[];
  checks: BurstChecks;
  timeline: Record<string, number | null>[];
  profiles: ProfileSummary[];
}

const pct = (x: number) => `${round(x * 100)}%`;

/** Project figures over ceilings, and the issue's targets against them. */
export function ratiosAndTargets(c: Ceilings, accept: AcceptResult, drain: ProjectDrainResult, soldOut: SoldOutProbe, waiters?: WaitersResult) {
  const ratios = {
    accept_vs_a: round(accept.rate / c.a.rate, 3),
    drain_vs_b: round(drain.rate / c.b.rate, 3),
    drain_vs_c: round(drain.rate / c.c.rate, 3),
  };
  const targets = [
    { name: 'gateway accept rate vs ceiling (a)', value: pct(ratios.accept_vs_a), target: '>= 60%', met: ratios.accept_vs_a >= 0.6 },
    { name: 'allocation rate, one hot show, vs ceiling (b)', value: pct(ratios.drain_vs_b), target: '>= 50%', met: ratios.drain_vs_b >= 0.5 },
    {
      name: 'sold out: 409 SOLD_OUT without enqueueing, p99 at the gateway',
      value: `${round(soldOut.gatewayMs.p99)} ms (client ${round(soldOut.latencyMs.p99)} ms; ${soldOut.refused}/${soldOut.requests} refused, ${soldOut.enqueued} enqueued)`,
      target: '< 20 ms', met: soldOut.refused === soldOut.requests && soldOut.enqueued === 0 && soldOut.gatewayMs.n > 0 && soldOut.gatewayMs.p99 < 20,
    },
  ];
  if (waiters) targets.push({ name: `gateway RSS with ${waiters.awaiting} callers awaiting`, value: `${waiters.peakRssMb} MB`, target: '< 300 MB', met: waiters.peakRssMb < 300 });
  return { ratios, targets };
}

const ms = (s: { p50: number; p99: number }) => `${round(s.p50)} / ${round(s.p99)}`;
const kv = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(', ');

/** The console report. */
export function printReport(r: LaunchReport): string {
  const m = r.machine;
  const b = r.burst;
  const parts = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGb} GB RAM, Node ${m.node}, Postgres ${m.postgres}, Redis ${m.redis}, load ${m.loadAvg} at start, ${m.date}`,
    `Command: ${r.command}`,
    ceilingTable(r.ceilings),
    table('Launch (project, same run)', ['figure', 'value', 'p50 / p99 ms', 'vs ceiling'], [
      ['gateway accept, respond-async, no worker', `${r.gatewayAccept.rate} req/s`, ms(r.gatewayAccept.latencyMs),
        `${pct(r.ratios.accept_vs_a)} of (a) (rounds ${r.acceptRounds.map(pct).join(' ')}); CPU ${r.gatewayAccept.cpuMsPerRequest} vs ${r.ceilings.a.cpuMsPerRequest} ms/req`],
      ['allocation, one hot show, queue worked off', `${r.drain.rate} jobs/s`, '', `${pct(r.ratios.drain_vs_b)} of (b), ${pct(r.ratios.drain_vs_c)} of (c); CPU ${r.drain.cpuMsPerJob} vs ${r.ceilings.b.cpuMsPerJob} ms/job`],
      ['sold out: 409 without enqueueing (client)', `${r.soldOut.refused}/${r.soldOut.requests}, ${r.soldOut.enqueued} enqueued`, ms(r.soldOut.latencyMs), ''],
      ['sold out: same, at the gateway (its log)', `n=${r.soldOut.gatewayMs.n}`, ms(r.soldOut.gatewayMs), ''],
      ['burst: accept rate until sold out', `${b.acceptRate} req/s`, ms(b.acceptLatencyMs), `${pct(b.acceptRate / r.ceilings.a.rate)} of (a)`],
      ['burst: allocation while backlogged', `${b.allocationJobsPerS} jobs/s`, '', `${pct(b.allocationJobsPerS / r.ceilings.b.rate)} of (b), ${pct(b.allocationJobsPerS / r.ceilings.c.rate)} of (c)`],
      ['burst: seats allocated until sold out', `${b.allocationSeatsPerS} seats/s`, '', ''],
      ['burst: time to sell out', b.timeToSellOutS === null ? 'not sold out' : `${b.timeToSellOutS} s`, '', ''],
      ['burst: CPU per call (gateway) / per job (workers)', `${r.burstCpu.gatewayMsPerCall} / ${r.burstCpu.workerMsPerJob} ms`, '', ''],
      ['request to result (acknowledged)', `n=${b.resultLatencyMs.n}`, ms(b.resultLatencyMs), ''],
      ['awaited in the same call', `n=${b.awaitedResultMs.n}`, ms(b.awaitedResultMs), ''],
      ['burst: 409 SOLD_OUT without enqueueing', `n=${b.soldOutAnswers.n}`, ms(b.soldOutAnswers), 'client-side, gateway under burst load'],
      ['max queue depth', b.maxQueueDepth, '', ''],
      ...(r.waiters ? [[`gateway RSS, ${r.waiters.awaiting} awaiting`, `${r.waiters.peakRssMb} MB`, '', `baseline ${r.waiters.baselineRssMb} MB, ${r.waiters.perWaiterKb} KB/caller`],
        ['gateway RSS, answering them at shutdown', `${r.waiters.shutdownPeakRssMb} MB`, '', `all ${r.waiters.awaiting} answered 202 at once`]] : []),
    ]),
    `\nRequests: ${b.requests} booking calls in ${b.seconds}s, ${b.polls} polls, ${b.transportErrors} transport errors`,
    `First answers by status: ${kv(b.firstAnswers)}`,
    `Refused before the queue: ${kv(b.refusedByCode) || 'none'}`,
    `Outcomes by kind and code: ${kv(b.outcomesByCode)}`,
    table('Targets', ['target', 'value', 'goal', 'met'], r.targets.map((t) => [t.name, t.value, t.target, t.met ? 'yes' : 'NO'])),
    table('Invariants (checked in Postgres)', ['check', 'result'], [
      ['seats with two active bookings', r.checks.invariants.duplicates],
      ['acknowledged requests without an outcome', r.checks.invariants.lost.length],
      ['acknowledged requests with an outcome', r.checks.invariants.outcomes],
      ['answers that disagree with the stored outcome', r.checks.disagreeing.length],
      ['seats in successful answers / booking rows', `${r.checks.seatsAnswered} / ${r.checks.bookingRows}`],
      ['show counter / active bookings', `${r.checks.invariants.counter} / ${r.checks.invariants.activeSeats}`],
      ['demand / supply, sold out', `${r.checks.demandSeats} / ${r.options.seats}, ${r.checks.soldOut.observed ? 'yes' : 'no'}`],
      ['lapsed holds released', `${r.checks.lapsedHolds.released} / ${r.checks.lapsedHolds.total} seats`],
    ]),
  ];
  for (const p of r.profiles) {
    parts.push(table(`Profile ${p.file} (${p.seconds}s): self time by area`, ['area', 'ms', '%'], p.areas.slice(0, 10).map((a) => [a.area, a.ms, a.pct])));
    parts.push(table(`Profile ${p.file}: top frames`, ['frame', 'ms', '%'], p.top.slice(0, 15).map((f) => [f.frame.slice(0, 90), f.ms, f.pct])));
  }
  parts.push(r.checks.breaches.length ? `\nINVARIANT BREACHES:\n${r.checks.breaches.map((x) => `  - ${x}`).join('\n')}` : '\nAll invariants hold.');
  return parts.join('\n');
}

/** Writes bench/results/<stamp>.json and .svg; returns their paths. */
export function writeResults(dir: string, stamp: string, r: LaunchReport): { json: string; svg: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `${stamp}.json`);
  const svg = path.join(dir, `${stamp}.svg`);
  fs.writeFileSync(json, JSON.stringify(r, null, 2));
  const sold = r.burst.timeToSellOutS;
  fs.writeFileSync(svg, renderChart({
    title: `Boxoffice launch: ${r.burst.requests} booking calls, ${r.options.seats} seats, ${r.options.workers} worker process(es)`,
    subtitle: `${r.machine.date.slice(0, 16).replace('T', ' ')} UTC, ${r.machine.cpu} x${r.machine.cores}, Node ${r.machine.node}; sold out after ${sold ?? '-'}s; `
      + `max queue ${r.burst.maxQueueDepth}; gateway accept ${pct(r.ratios.accept_vs_a)} of ceiling (a), allocation ${pct(r.ratios.drain_vs_b)} of ceiling (b)`,
    rows: r.timeline,
    markers: sold === null ? [] : [{ t: sold, label: `sold out at ${sold}s` }],
    panels: [
      { title: 'Throughput', unit: 'per second', series: [
        { key: 'accepted_per_s', label: 'accepted (jobs enqueued)', color: '#2c7fb8' },
        { key: 'allocated_jobs_per_s', label: 'allocations (jobs)', color: '#d95f0e' },
        { key: 'allocated_seats_per_s', label: 'seats allocated', color: '#31a354' },
      ] },
      { title: 'Queue depth', unit: 'jobs waiting or running', series: [{ key: 'queue_depth', label: 'queue depth', color: '#756bb1' }] },
      { title: 'Request to result', unit: 'ms, by completion time', series: [
        { key: 'result_ms_p50', label: 'p50', color: '#2c7fb8' },
        { key: 'result_ms_p99', label: 'p99', color: '#de2d26' },
      ] },
    ],
  }));
  return { json, svg };
}
