import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type Config, ConfigSchema, SETTINGS, type SettingName } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Source = Record<string, unknown>;

/** Environment strings → the setting's type; anything unparsable is left as is for the check to name. */
function fromString(schema: TSchema, raw: string): unknown {
  if (schema[Kind] === 'Array')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  if (schema[Kind] === 'Integer' || schema[Kind] === 'Number') {
    return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
  }
  return raw;
}

function readFileSource(path: string): Source {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `RECARD_CONFIG_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Source;
  } catch {
    throw new ConfigError([`RECARD_CONFIG_FILE: ${path} is not a JSON object of setting names to values`]);
  }
}

/**
 * Builds the configuration from defaults, then the optional JSON file named by RECARD_CONFIG_FILE
 * (keys are the environment variable names), then the environment. Every invalid setting is
 * reported at once, by its variable name, and the caller stops the process.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const file = env.RECARD_CONFIG_FILE ? readFileSource(env.RECARD_CONFIG_FILE) : {};
  const known = new Set(Object.values(SETTINGS).map((s) => s.env));
  const problems: string[] = [];
  for (const key of Object.keys(file)) {
    if (!known.has(key)) problems.push(`${key}: not a Recard setting (in ${env.RECARD_CONFIG_FILE})`);
  }

  const candidate: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const raw = env[s.env] ?? file[s.env];
    if (name in overrides) candidate[name] = overrides[name];
    else if (raw === undefined || raw === '') candidate[name] = Value.Default(s.schema, undefined);
    else candidate[name] = typeof raw === 'string' ? fromString(s.schema, raw) : raw;
    if (candidate[name] === undefined) delete candidate[name];
  }

  // The embedded database lives in the data folder unless a URL says otherwise.
  candidate.databaseUrl ??= `sqlite:${join(String(candidate.dataDir), 'recard.db')}`;
  for (const error of Value.Errors(ConfigSchema, candidate)) {
    const name = error.path.split('/')[1] as SettingName | undefined;
    const setting = name ? SETTINGS[name] : undefined;
    const label = setting ? setting.env : error.path;
    problems.push(`${label}: ${error.message.toLowerCase()} (got ${JSON.stringify(error.value)})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return candidate as Config;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** The SQLite file of a `sqlite:` URL (`sqlite::memory:` for an in-memory database). */
export function sqlitePath(url: string): string {
  if (!url.startsWith('sqlite:'))
    throw new ConfigError([`DATABASE_URL: must start with sqlite: or postgres:// (got ${url})`]);
  return url.slice('sqlite:'.length);
}
