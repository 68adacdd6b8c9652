const NO_PREFERENCE = Object.freeze({ respondAsync: false });
const RESPOND_ASYNC = Object.freeze({ respondAsync: true });

/** RFC 7240 `Prefer`: `respond-async` and `wait=N` (seconds, capped). Unknown preferences are ignored, as the RFC says. */
export function parsePrefer(header: string | undefined, maxWait = 60): { respondAsync: boolean; wait?: number } {
  // The two a booking client sends, answered without splitting the header.
  if (header === undefined) return NO_PREFERENCE;
  if (header === 'respond-async') return RESPOND_ASYNC;
  const out: { respondAsync: boolean; wait?: number } = { respondAsync: false };
  for (const part of header.split(',')) {
    const [name, value] = part.split(';')[0].split('=').map((s) => s.trim().toLowerCase());
    if (name === 'respond-async') out.respondAsync = true;
    if (name === 'wait' && /^\d+(\.\d+)?$/.test(value ?? '')) out.wait = Math.min(Number(value), maxWait);
  }
  return out;
}
