import { ConfigError } from '../../shared/config';
import { startGateway } from './gateway';

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
