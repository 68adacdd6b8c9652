/**
 * Redis persistence trade-off: the gateway's accept rate for `Prefer: respond-async` bookings
 * with `appendfsync always` (every acknowledged job is on disk before the 202) against
 * `appendfsync everysec` (up to a second of acknowledged jobs can be lost in a crash).
 *
 * Starts two redis-server instances on spare loopback ports (AOF on, data in a temp folder) and,
 * in turn, a real gateway process against each (no workers, so every accepted job stays queued),
 * and drives it with a keep-alive load generator for the same time. Rounds alternate the two
 * modes so drift on a shared machine hits both.
 *
 *   npm run bench:fsync [-- --seconds 10 --concurrency 64 --rounds 2]
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from './lib/args';
import { freePort, ROOT } from './lib/children';
import { createBenchShow, createBenchUsers } from './lib/fixtures';
import { HttpClient } from './lib/http-client';
import { BenchStack, benchEnv } from './lib/stack';
import { table } from './lib/table';

type Mode = 'always' | 'everysec';

interface RedisServer {
  mode: Mode;
  port: number;
  dir: string;
  proc: ChildProcess;
}

interface Sample {
  mode: Mode;
  round: number;
  seconds: number;
  accepted: number;
  other: Record<string, number>;
  latencies: number[];
  queued: number;
  aofBytes: number;
}

const args = parseArgs(process.argv.slice(3), { seconds: 10, concurrency: 64, rounds: 2, warmup: 2, users: 2000 }, {
  seconds: 'measured seconds per mode and round', concurrency: 'requests in flight', rounds: 'alternating rounds per mode',
  warmup: 'unmeasured seconds before each measurement', users: 'customers whose tokens the load cycles through',
});

async function startRedis(mode: Mode): Promise<RedisServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `boxoffice-fsync-${mode}-`));
  const proc = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes',
    '--appendfsync', mode, '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes',
  ], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if (execFileSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'PONG') return { mode, port, dir, proc };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server (${mode}) did not start on port ${port}`);
}

const redisCli = (port: number, ...cmd: string[]) => execFileSync('redis-cli', ['-p', String(port), ...cmd], { encoding: 'utf8' }).trim();

/** Keeps `concurrency` respond-async booking requests in flight until `until` (ms); returns what came back. */
async function drive(port: number, showId: number, seats: number, tokens: string[], until: number) {
  const client = new HttpClient(port, args.concurrency);
  const out = { accepted: 0, other: {} as Record<string, number>, latencies: [] as number[] };
  let n = 0;
  const lane = async () => {
    while (Date.now() < until) {
      const i = n++;
      const a = await client.call('POST', `/shows/${showId}/book`, {
        token: tokens[i % tokens.length], body: { seat_number: 1 + (i % seats) }, headers: { Prefer: 'respond-async' }, timeoutMs: 30_000,
      });
      if (a.status === 202) {
        out.accepted++;
        out.latencies.push(a.ms);
      } else {
        const key = a.transportError ? 'transport' : String(a.status);
        out.other[key] = (out.other[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, lane));
  client.close();
  return out;
}

/** Redis alone: redis-benchmark LPUSH with `clients` connections (1: every write waits for its own fsync). */
function redisAlone(redis: RedisServer, clients: number) {
  const n = clients === 1 ? 3000 : 30_000;
  const csv = execFileSync('redis-benchmark', ['-p', String(redis.port), '-t', 'lpush', '-n', String(n), '-c', String(clients), '--csv'], { encoding: 'utf8' });
  const cells = csv.trim().split('\n')[1].split(',').map((c) => c.replace(/"/g, ''));
  return { mode: redis.mode, clients, rps: Number(cells[1]), p50: Number(cells[4]), p99: Number(cells[6]) };
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);

async function measure(stack: BenchStack, redis: RedisServer, round: number, tokens: string[]): Promise<Sample> {
  const seats = 10_000;
  const showId = await createBenchShow(stack.db, seats, 50, 1_000_000);
  const gateway = await stack.startGateway(`gateway-${redis.mode}-${round}`, { REDIS_URL: `redis://127.0.0.1:${redis.port}` });
  try {
    await drive(gateway.port, showId, seats, tokens, Date.now() + args.warmup * 1000);
    const before = Number(redisCli(redis.port, 'ZCARD', `${stack.env.QUEUE_PREFIX}:{show-${showId}}:prioritized`));
    const started = Date.now();
    const run = await drive(gateway.port, showId, seats, tokens, started + args.seconds * 1000);
    const seconds = (Date.now() - started) / 1000;
    const queued = Number(redisCli(redis.port, 'ZCARD', `${stack.env.QUEUE_PREFIX}:{show-${showId}}:prioritized`)) - before;
    const aofBytes = Number(/aof_current_size:(\d+)/.exec(redisCli(redis.port, 'INFO', 'persistence'))?.[1] ?? 0);
    return { mode: redis.mode, round, seconds, accepted: run.accepted, other: run.other, latencies: run.latencies.sort((a, b) => a - b), queued, aofBytes };
  } finally {
    await stack.stop(gateway);
  }
}

function report(samples: Sample[], alone: ReturnType<typeof redisAlone>[], fsType: string, redisVersion: string) {
  const cpus = os.cpus();
  console.log(`\nmachine: ${cpus[0]?.model?.trim()} x${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM, node ${process.version}, ` +
    `redis ${redisVersion}, AOF on ${fsType}, load ${os.loadavg()[0].toFixed(2)}`);
  const rows = samples.map((s) => [
    s.mode, s.round, (s.accepted / s.seconds).toFixed(0), pct(s.latencies, 0.5).toFixed(1), pct(s.latencies, 0.99).toFixed(1),
    s.accepted, s.queued, Object.entries(s.other).map(([k, v]) => `${k}:${v}`).join(' ') || '-',
  ]);
  console.log(table(`respond-async bookings, ${args.concurrency} in flight, ${args.seconds}s per run, no workers`,
    ['appendfsync', 'round', 'accepted/s', 'p50 ms', 'p99 ms', '202s', 'jobs in Redis', 'other answers'], rows));
  console.log(table('Redis alone: redis-benchmark LPUSH (one write each)', ['appendfsync', 'clients', 'writes/s', 'p50 ms', 'p99 ms'],
    alone.map((a) => [a.mode, a.clients, a.rps.toFixed(0), a.p50.toFixed(2), a.p99.toFixed(2)])));
  const rate = (m: Mode) => {
    const of = samples.filter((s) => s.mode === m);
    return of.reduce((n, s) => n + s.accepted, 0) / of.reduce((n, s) => n + s.seconds, 0);
  };
  const always = rate('always');
  const everysec = rate('everysec');
  console.log(`\nmean accept rate: always ${always.toFixed(0)}/s, everysec ${everysec.toFixed(0)}/s ` +
    `(always is ${(((everysec - always) / everysec) * 100).toFixed(1)}% slower; everysec can lose up to ~1 s of acknowledged jobs, ` +
    `about ${everysec.toFixed(0)} at this rate, if the host crashes)`);
  return { always, everysec };
}

async function main() {
  const tag = `fsync_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const stack = new BenchStack(benchEnv({ tag, logLevel: 'warn', holdSeconds: 600, extraEnv: { BOOK_RATE_LIMIT: '0', MAX_QUEUE_DEPTH: '10000000' } }));
  const servers: RedisServer[] = [];
  try {
    servers.push(await startRedis('always'), await startRedis('everysec'));
    const redisVersion = /redis_version:(\S+)/.exec(redisCli(servers[0].port, 'INFO', 'server'))?.[1] ?? 'unknown';
    const fsType = execFileSync('stat', ['-f', '-c', '%T', servers[0].dir], { encoding: 'utf8' }).trim();
    await stack.prepareDatabase();
    const tokens = (await createBenchUsers(stack.db, args.users, tag)).map((u) => u.token);
    const samples: Sample[] = [];
    for (let round = 1; round <= args.rounds; round++) {
      const order = round % 2 === 1 ? servers : [...servers].reverse();
      for (const redis of order) {
        samples.push(await measure(stack, redis, round, tokens));
        console.log(`  ${redis.mode} round ${round}: ${(samples.at(-1)!.accepted / samples.at(-1)!.seconds).toFixed(0)} accepted/s`);
      }
    }
    const alone = servers.flatMap((redis) => [redisAlone(redis, 1), redisAlone(redis, args.concurrency)]);
    const figures = report(samples, alone, fsType, redisVersion);
    const out = path.join(ROOT, 'bench', 'results', `redis-fsync-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify({ args, fsType, redisVersion, machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, figures, alone, samples: samples.map(({ latencies, ...s }) => ({ ...s, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) })) }, null, 2));
    console.log(`results: ${path.relative(ROOT, out)}`);
  } finally {
    for (const s of servers) {
      s.proc.kill('SIGTERM');
      await new Promise((r) => s.proc.once('exit', r));
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
    await stack.teardown(false);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
