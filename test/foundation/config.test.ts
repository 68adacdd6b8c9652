import { expect } from 'chai';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../shared/config';

const SECRET = 'a-production-secret-that-is-long-enough';

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig accepted a bad environment');
}

describe('config: the environment is validated once', () => {
  it('when several variables are bad, then one ConfigError names each of them', () => {
    const err = configError({ PORT: 'abc', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL']) expect(err.message).to.include(name);
    expect(err.message).to.not.include('REDIS_URL');
  });

  it('when production lacks JWT_SECRET and ADMIN_PASSWORD, then the error names both', () => {
    const err = configError({ NODE_ENV: 'production' });
    expect(err.message).to.match(/JWT_SECRET/);
    expect(err.message).to.match(/ADMIN_PASSWORD/);
  });

  it('when production has a JWT_SECRET shorter than 32 characters, then the error names it', () => {
    const err = configError({ NODE_ENV: 'production', JWT_SECRET: 'short', ADMIN_PASSWORD: 'a-real-password' });
    expect(err.message).to.match(/JWT_SECRET/);
    expect(err.message).to.not.match(/ADMIN_PASSWORD/);
  });

  it('when production sets every secret, then it loads without development fallbacks', () => {
    const cfg = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, ADMIN_PASSWORD: 'a-real-password' });
    expect(cfg).to.include({ NODE_ENV: 'production', JWT_SECRET: SECRET, ADMIN_PASSWORD: 'a-real-password' });
  });

  it('when nothing is set, then the documented development defaults apply', () => {
    const cfg = loadConfig({});
    expect(cfg).to.include({
      NODE_ENV: 'development', PORT: 3000, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/boxoffice',
      REDIS_URL: 'redis://127.0.0.1:6379', ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'admin12345', LOG_LEVEL: 'info',
    });
    expect(cfg.JWT_SECRET).to.have.length.of.at.least(32);
  });

  it('when numbers come as strings and a variable is empty, then numbers are parsed and the empty one takes its default', () => {
    const cfg = loadConfig({ PORT: '8080', ACCESS_TOKEN_TTL: '60', LOG_LEVEL: '' });
    expect(cfg.PORT).to.equal(8080);
    expect(cfg.ACCESS_TOKEN_TTL).to.equal(60);
    expect(cfg.LOG_LEVEL).to.equal('info');
  });

  it('when NODE_ENV is not one of the known modes, then the error names it', () => {
    expect(configError({ NODE_ENV: 'staging' }).message).to.include('NODE_ENV');
  });

  it('when the list of variables is read, then it covers ports, stores, secrets and the admin', () => {
    expect(CONFIG_VARIABLES).to.include.members(['PORT', 'DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'ADMIN_USERNAME', 'ADMIN_PASSWORD', 'NODE_ENV']);
  });
});
