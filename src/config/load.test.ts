import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';
import { SETTINGS } from './schema.js';

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('loadConfig', () => {
  it('has a default for every setting but the optional key', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.databaseUrl).toBe('sqlite:data/recard.db');
    expect(loadConfig({ RECARD_DATA_DIR: '/var/lib/recard' }).databaseUrl).toBe(
      'sqlite:/var/lib/recard/recard.db',
    );
    expect(c.bodyLimitBytes).toBe(1024 * 1024);
    expect(c.signatureWindowS).toBe(300);
    expect(c.channelKey).toBeUndefined();
    expect(c.channelKeysRetired).toEqual([]);
  });

  it('reads and converts environment variables', () => {
    const c = loadConfig({
      RECARD_PORT: '8080',
      RECARD_LOG_LEVEL: 'warn',
      DATABASE_URL: 'postgres://u@h/db',
    });
    expect(c.port).toBe(8080);
    expect(c.logLevel).toBe('warn');
    expect(c.databaseUrl).toBe('postgres://u@h/db');
  });

  it('names the variable and the reason for an invalid value', () => {
    const [problem] = problemsOf({ RECARD_PORT: 'eighty' });
    expect(problem).toMatch(/^RECARD_PORT: .*integer.*\(got "eighty"\)$/);
    expect(problemsOf({ RECARD_PORT: '70000' })[0]).toMatch(/^RECARD_PORT: .*65535/);
    expect(problemsOf({ RECARD_PORT: '80.5' })[0]).toMatch(/^RECARD_PORT: .*integer/);
    expect(problemsOf({ RECARD_LOG_LEVEL: 'loud' })[0]).toMatch(/^RECARD_LOG_LEVEL: /);
    expect(problemsOf({ RECARD_CHANNEL_KEY: 'too-short' })[0]).toMatch(/^RECARD_CHANNEL_KEY: /);
  });

  it('reports every invalid setting at once', () => {
    expect(problemsOf({ RECARD_PORT: 'x', RECARD_BODY_LIMIT_BYTES: '10' })).toHaveLength(2);
  });

  it('reads an optional JSON file, with the environment taking precedence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recard-cfg-'));
    const file = join(dir, 'recard.json');
    writeFileSync(file, JSON.stringify({ RECARD_PORT: 4000, RECARD_LOG_LEVEL: 'debug' }));
    const c = loadConfig({ RECARD_CONFIG_FILE: file, RECARD_LOG_LEVEL: 'error' });
    expect(c.port).toBe(4000);
    expect(c.logLevel).toBe('error');
  });

  it('refuses a file with unknown settings, bad JSON, or that cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recard-cfg-'));
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ RECARD_PROT: 4000 }));
    expect(problemsOf({ RECARD_CONFIG_FILE: typo })[0]).toMatch(/^RECARD_PROT: not a Recard setting/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{nope');
    expect(problemsOf({ RECARD_CONFIG_FILE: bad })[0]).toMatch(
      /^RECARD_CONFIG_FILE: .* is not a JSON object/,
    );
    expect(problemsOf({ RECARD_CONFIG_FILE: join(dir, 'missing.json') })[0]).toMatch(/cannot read .*ENOENT/);
  });

  it('splits list settings on commas', () => {
    const k = Buffer.alloc(32, 1).toString('base64');
    expect(loadConfig({ RECARD_CHANNEL_KEYS_RETIRED: `${k}, ${k}` }).channelKeysRetired).toEqual([k, k]);
  });

  it('every setting is documented in the README configuration table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const s of Object.values(SETTINGS)) expect(readme).toContain(`\`${s.env}\``);
    expect(readme).toContain('`RECARD_CONFIG_FILE`');
  });
});
