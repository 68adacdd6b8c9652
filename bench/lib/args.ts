/** Parses `--name value` / `--name=value` / `--flag` arguments against a table of defaults. */
export function parseArgs<T extends Record<string, string | number | boolean>>(argv: string[], defaults: T, help: Record<keyof T, string>): T {
  const out: Record<string, string | number | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(Object.keys(defaults).map((k) => `  --${k.padEnd(18)} ${help[k as keyof T]} (default ${String(defaults[k])})`).join('\n'));
      process.exit(0);
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !(m[1] in defaults)) throw new Error(`Unknown argument ${arg} (try --help)`);
    const key = m[1];
    const kind = typeof defaults[key];
    let value = m[2];
    if (value === undefined) {
      if (kind === 'boolean' && (argv[i + 1] === undefined || argv[i + 1].startsWith('--'))) value = 'true';
      else value = argv[++i];
    }
    if (value === undefined) throw new Error(`--${key} needs a value`);
    if (kind === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${key} must be a non-negative number, got ${value}`);
      out[key] = n;
    } else if (kind === 'boolean') {
      if (!/^(true|false|1|0)$/.test(value)) throw new Error(`--${key} must be true or false, got ${value}`);
      out[key] = value === 'true' || value === '1';
    } else {
      out[key] = value;
    }
  }
  return out as T;
}
