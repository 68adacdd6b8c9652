import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { onCleanup } from '../support/cleanup';
import { client, Client } from '../support/http';
import { freePort } from '../support/servers';

const ROOT = path.join(__dirname, '..', '..');

export interface GatewayProcess {
  url: string;
  api: Client;
  port: number;
  proc(): ChildProcess | undefined;
  /** Last lines the process wrote (for failure messages). */
  tail(): string;
  /** Starts the gateway (again) on the same port; resolves when /healthz answers. */
  start(): Promise<void>;
  /** Sends a signal and resolves with the exit code or signal. */
  kill(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/**
 * The gateway as its own process (`npm run start:gateway`'s entry point) on a fixed free port,
 * so it can be killed and restarted while clients keep the same address.
 */
export async function spawnGateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const api = client(url);
  let proc: ChildProcess | undefined;
  let exited: Promise<number | string | null> = Promise.resolve(null);
  let lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 200) lines = lines.slice(-100);
  };
  const start = async () => {
    const p = spawn(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'services/gateway/main'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc = p;
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    exited = new Promise((resolve) => p.once('exit', (code, signal) => resolve(code ?? signal)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`gateway exited (${p.exitCode}) before listening: ${lines.slice(-20).join('\n')}`);
      const res = await fetch(`${url}/healthz`).catch(() => undefined);
      if (res?.status === 200) return;
      if (Date.now() > deadline) throw new Error(`gateway not listening on ${port}: ${lines.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  onCleanup(() => kill('SIGKILL'));
  await start();
  return { url, api, port, proc: () => proc, tail: () => lines.slice(-30).join('\n'), start, kill };
}
