import { ConfigError } from '../../shared/config';
import { startGateway } from './gateway';
import { boundHeapGrowth, GATEWAY_HEAP_POLICY } from './heap-growth';

// Room for garbage in the old generation: 40 MB, or 40% of the live heap once that is more (V8
// otherwise lets a fast-allocating process grow it up to four times). Thousands of awaiting
// callers are long-lived and everything else is short-lived: with V8's default, 10,000 waiters
// left ~100 MB of dead objects uncollected at the peak; peak RSS with 10,000 waiters measured 402
// MiB (V8 default), 327 (factor 2), 295 (1.4). A fixed factor of 1.4 also made the small heap of a
// gateway accepting bookings be marked again every ~20 MB promoted. In an interleaved accept run
// on 2 cores a 48 MB floor took 11% off the gateway's CPU per accepted request (0.155 vs 0.175
// ms); 24, 32 and 40 MB left 10,000 waiters at the same 278-296 MB.
boundHeapGrowth(GATEWAY_HEAP_POLICY);
// The young generation is set where the process starts, not here (V8 sizes it before any code
// runs): `npm run start:gateway` passes --max-semi-space-size=32, twice V8's default room for new
// objects, which halves the scavenges of the requests in flight (README, Performance).

startGateway()
  .then((gw) => {
    const stop = () => {
      gw.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  })
  .catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
