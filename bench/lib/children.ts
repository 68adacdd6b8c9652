import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** HTTP port the process listens on (gateway port or worker metrics port). */
  port: number;
  logFile: string;
  exited: Promise<number | string | null>;
  /** Resident set size in bytes (from /proc/<pid>/status), or 0 once the process is gone. */
  rss(): number;
  /** CPU seconds used so far (user + system, from /proc/<pid>/stat). */
  cpuSeconds(): number;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string | null>;
}

/** A free loopback port (the listener is closed again before the child binds it). */
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

function readProc(pid: number, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

export const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readProc(pid, 'status'))?.[1] ?? 0) * 1024;

export function cpuSecondsOf(pid: number): number {
  const stat = readProc(pid, 'stat');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

/** GETs http://127.0.0.1:port/path until it answers 200 or the child exits. */
async function waitHealthy(port: number, urlPath: string, exited: Promise<unknown>, timeoutMs: number): Promise<void> {
  let gone = false;
  void exited.then(() => { gone = true; });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !gone) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(gone ? 'exited before it was ready' : `not healthy within ${timeoutMs} ms`);
}

export interface SpawnOptions {
  name: string;
  /** Entry point without extension, as `node bin/run.js <entry>` takes it. */
  entry: string;
  env: Record<string, string>;
  port: number;
  healthPath: string;
  logDir: string;
  nodeArgs?: string[];
}

/**
 * How an npm script of the project starts a service, `node [options] bin/run.js <entry>`: the
 * bench runs the gateway and the workers with the same entry and Node options.
 */
export function npmScript(name: string): { nodeArgs: string[]; entry: string } {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const words = (pkg.scripts?.[name] ?? '').trim().split(/\s+/);
  const run = words.indexOf('bin/run.js');
  if (words[0] !== 'node' || run < 1 || words.length !== run + 2) throw new Error(`npm script "${name}" is not "node [options] bin/run.js <entry>"`);
  return { nodeArgs: words.slice(1, run), entry: words[run + 1] };
}

/** Starts one of the project's entry points as a child process, logging to a file, and waits until it is healthy. */
export async function spawnEntry(opts: SpawnOptions): Promise<Child> {
  const logFile = path.join(opts.logDir, `${opts.name}.log`);
  const fd = fs.openSync(logFile, 'a');
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), path.join(ROOT, 'bin', 'run.js'), opts.entry], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  const exited = new Promise<number | string | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
  const pid = proc.pid!;
  const stop = async (graceMs = 15_000) => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      void exited.then(() => clearTimeout(timer));
    }
    return exited;
  };
  try {
    await waitHealthy(opts.port, opts.healthPath, exited, 60_000);
  } catch (err) {
    await stop(1000);
    const tail = fs.readFileSync(logFile, 'utf8').slice(-3000);
    throw new Error(`${opts.name} (${opts.entry}) ${(err as Error).message}; log tail:\n${tail}`);
  }
  return { name: opts.name, proc, pid, port: opts.port, logFile, exited, rss: () => rssOf(pid), cpuSeconds: () => cpuSecondsOf(pid), stop };
}
