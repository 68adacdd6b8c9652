import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Sends one inline command and resolves with the first reply line (or rejects on a connection error). */
function redisCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('timeout')); }, timeoutMs);
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (c) => {
      data += c.toString();
      if (data.includes('\r\n')) {
        clearTimeout(timer);
        sock.destroy();
        resolve(data.slice(0, data.indexOf('\r\n')));
      }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

export interface PrivateRedis {
  port: number;
  url: string;
  /** The data directory (the AOF lives here and survives restarts). */
  dir: string;
  /** Starts redis-server on the same port and directory, resolving once it answers PING (AOF loaded). */
  start(): Promise<void>;
  /** Kills the server with a signal (SIGKILL: a crash; SIGTERM: a clean shutdown). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Kills the server and removes its directory. */
  destroy(): Promise<void>;
}

/**
 * A redis-server of our own on a spare loopback port, with AOF fsynced on every write by default,
 * so a test can crash and restart it without touching the shared server.
 */
export async function startRedis(opts: { appendonly?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-redis-'));
  const aof = opts.appendonly ?? true;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no',
    '--appendonly', aof ? 'yes' : 'no', '--appendfsync', 'always', '--protected-mode', 'no', '--loglevel', 'warning'];
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    const p = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc = p;
    exited = new Promise((resolve) => p.once('exit', () => resolve()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${p.exitCode}`);
      const reply = await redisCommand(port, 'PING').catch(() => '');
      if (reply === '+PONG') return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} not ready: ${reply}`);
      await sleep(50);
    }
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await exited;
  };
  const destroy = async () => {
    await kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  onCleanup(destroy);
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, dir, start, kill, destroy };
}

export interface PrivatePostgres {
  port: number;
  /** A connection string for a database on this server. */
  url(database: string): string;
  start(): Promise<void>;
  /** pg_ctl stop: 'immediate' is a crash (recovery on the next start), 'fast' a clean shutdown. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  destroy(): Promise<void>;
}

/** The newest installed Postgres server binaries (Debian layout), or the ones on PATH. */
function postgresBin(tool: string): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const p = path.join(base, v, 'bin', tool);
      if (existsSync(p)) return p;
    }
  }
  return tool;
}

/** initdb and pg_ctl refuse to run as root: run them as the postgres user then. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/**
 * A throwaway Postgres cluster (trust auth, fsync off) on a spare loopback port, so a test can
 * stop and restart it while work is in flight.
 */
export async function startPostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const root = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-pg-'));
  const data = path.join(root, 'data');
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(root, Number(stdout.trim()), Number(gid.trim()));
  }
  await run(...asServerUser(postgresBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']));
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${root} -c fsync=off -c max_connections=100`;
  const pgCtl = (args: string[]) => run(...asServerUser(postgresBin('pg_ctl'), ['-D', data, ...args]));
  const start = async () => {
    await pgCtl(['-o', options, '-l', path.join(root, 'server.log'), '-w', '-t', '30', 'start']);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pgCtl(['-m', mode, '-w', 'stop']).catch(() => undefined);
  };
  const destroy = async () => {
    await stop('immediate');
    rmSync(root, { recursive: true, force: true });
  };
  onCleanup(destroy);
  await start();
  return { port, url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`, start, stop, destroy };
}
