import v8 from 'node:v8';
import { ConfigError } from '../../shared/config';
import { startGateway } from './gateway';

// The old-generation heap may grow to 1.4 times what survived the last full collection before
// the next one (V8 otherwise lets a fast-allocating process grow it up to four times). Thousands
// of awaiting callers are long-lived and everything else is short-lived: with V8's default, 10,000
// waiters left ~100 MB of dead objects uncollected at the peak. Measured with npm run bench:launch
// on 2 cores: peak RSS with 10,000 waiters 402 MiB (V8 default), 327 (factor 2), 295 (1.4), 293
// (1.3); CPU per accepted request within noise down to 1.4, +14% at 1.3 and +35% at 1.15.
v8.setFlagsFromString('--heap-growing-percent=40');

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
