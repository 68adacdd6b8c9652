import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The established TCP connections that process `pid` holds to any of `ports`, as
 * `<local port>><remote port>` (from /proc: the process's socket inodes joined with the kernel's TCP table).
 */
export function connectionsOf(pid: number, ports: number[]): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* fd closed while reading */
    }
  }
  const wanted = new Set(ports);
  const found: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '01') continue;
      const remotePort = parseInt(cols[2].split(':')[1], 16);
      if (wanted.has(remotePort) && inodes.has(cols[9])) found.push(`${parseInt(cols[1].split(':')[1], 16)}>${remotePort}`);
    }
  }
  return found;
}

/** Connection names (CLIENT SETNAME) of the connections process `pid` holds to the Redis servers on `ports`. */
export function connectionNames(pid: number, ports: number[]): string[] {
  const mine = new Set(connectionsOf(pid, ports));
  const names: string[] = [];
  for (const port of ports) {
    const list = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'client', 'list']).toString();
    for (const line of list.split('\n')) {
      const addr = /\baddr=[^ ]*:(\d+) /.exec(line);
      const laddr = /\bladdr=[^ ]*:(\d+) /.exec(line);
      if (addr && mine.has(`${addr[1]}>${laddr?.[1] ?? port}`)) names.push(/\bname=(\S*)/.exec(line)?.[1] ?? '');
    }
  }
  return names;
}
