import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { onCleanup } from './cleanup';

const ROOT = path.join(__dirname, '..', '..');

export interface WorkerProcess {
  proc: ChildProcess;
  /** JSON log lines the worker printed so far. */
  logs: any[];
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string | null>;
  kill(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/**
 * Starts a real worker process (`npm run start:worker`'s entry point) with the test environment,
 * and resolves once it has connected. Killed after the suite if still running.
 */
export async function spawnWorker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'services/worker/main'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: any[] = [];
  let buffer = '';
  let stderr = '';
  const exited = new Promise<number | string | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
  const started = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line);
          logs.push(entry);
          if (entry.msg === 'worker started') resolve();
        } catch {
          /* not a log line */
        }
      }
    });
    proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    void exited.then((code) => reject(new Error(`worker exited (${code}) before starting: ${stderr.slice(-2000)}`)));
  });
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  onCleanup(() => kill('SIGKILL'));
  await started;
  return { proc, logs, exited, kill };
}

export async function spawnWorkers(n: number, env: Record<string, string> = {}): Promise<WorkerProcess[]> {
  return Promise.all(Array.from({ length: n }, () => spawnWorker(env)));
}
