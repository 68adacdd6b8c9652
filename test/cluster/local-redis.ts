import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/servers';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Redis servers this process started on loopback ports (a private standalone server or a cluster). */
export interface LocalRedis {
  /** REDIS_URL for the services: redis://… or redis-cluster://host:port,… */
  url: string;
  ports: number[];
  /** The redis-server processes (empty for a server this process did not start). */
  pids: number[];
  stop(): Promise<void>;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function serverArgs(dir: string, port: number, extra: string[]): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--logfile', path.join(dir, `redis-${port}.log`), '--maxclients', '10000', ...extra];
}

/** Starts redis-server processes; each is killed on stop() and, at the latest, when this process exits. */
async function launch(ports: number[], extra: (port: number, dir: string) => string[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-redis-'));
  const procs: ChildProcess[] = ports.map((port) => spawn('redis-server', serverArgs(dir, port, extra(port, dir)), { stdio: 'ignore' }));
  const kill = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  process.once('exit', kill);
  await Promise.all(ports.map((port) => until(`redis on ${port}`, async () => (await cli(port, 'ping')).trim() === 'PONG')));
  const stop = async () => {
    process.removeListener('exit', kill);
    await Promise.all(procs.map((p) => new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve(undefined);
      p.once('exit', resolve);
      p.kill('SIGKILL');
    })));
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, stop, pids: procs.map((p) => p.pid!) };
}

/** One standalone redis-server on a free loopback port. */
export async function startLocalRedis(): Promise<LocalRedis> {
  const port = await freePort();
  const { stop, pids } = await launch([port], () => []);
  return { url: `redis://127.0.0.1:${port}`, ports: [port], pids, stop };
}

/**
 * A real Redis Cluster of `masters` masters (no replicas) on free loopback ports, joined with
 * `redis-cli --cluster create`; resolves once every node reports cluster_state:ok.
 */
export async function startLocalCluster(masters = 3): Promise<LocalRedis> {
  const ports: number[] = [];
  const busPorts = new Map<number, number>();
  while (ports.length < masters) {
    const [port, bus] = [await freePort(), await freePort()];
    if (port === bus || ports.includes(port) || ports.includes(bus) || [...busPorts.values()].some((b) => b === port || b === bus)) continue;
    ports.push(port);
    busPorts.set(port, bus);
  }
  const { stop, pids } = await launch(ports, (port, dir) => ['--cluster-enabled', 'yes', '--cluster-port', String(busPorts.get(port)),
    '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000']);
  try {
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) {
      await until(`cluster_state:ok on ${port}`, async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, pids, stop };
}
