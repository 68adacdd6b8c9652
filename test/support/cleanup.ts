/** Things a test started that must be stopped before the database is dropped (gateways, workers, pools). */
const closers: (() => Promise<unknown>)[] = [];

export function onCleanup(fn: () => Promise<unknown>) {
  closers.push(fn);
}

export async function closeAll() {
  while (closers.length) {
    const fn = closers.pop()!;
    await fn().catch(() => undefined);
  }
}
