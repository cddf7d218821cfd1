import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Keyring, keyIdOf, makeKeyring, randomToken } from '../shared/crypto.js';
import type { Config } from './schema.js';

/** Where the embedded default keeps the keys it generated; owner-only. */
export const KEYS_FILE = 'keys.json';

/** Every generated secret, and how to make a new one. Production passes each through the environment. */
const GENERATORS = {
  channel_key: () => randomBytes(32).toString('base64'),
  admin_token: () => `adm_${randomToken(32)}`,
} as const;
type KeyName = keyof typeof GENERATORS;
type KeysFile = Partial<Record<KeyName, string>>;

export interface Secrets {
  channelKeyring: Keyring;
  adminToken: string;
  /** Keys created by this start (the caller logs it: they must be backed up). */
  generated: KeyName[];
  path: string | null;
}

function toKey(b64: string) {
  const key = Buffer.from(b64, 'base64');
  return { id: keyIdOf(key), key };
}

/**
 * Reads `<data dir>/keys.json`, adding whatever it lacks (first run, or a version that needs a new
 * key), written atomically with mode 0600 in a 0700 folder.
 */
function fileKeys(
  dataDir: string,
  needed: KeyName[],
): { keys: KeysFile; generated: KeyName[]; path: string } {
  const path = join(dataDir, KEYS_FILE);
  const keys: KeysFile = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as KeysFile) : {};
  const generated = needed.filter((name) => !keys[name]);
  if (generated.length > 0) {
    for (const name of generated) keys[name] = GENERATORS[name]();
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  }
  chmodSync(path, 0o600);
  return { keys, generated, path };
}

/** Secrets from the environment where set (production), otherwise from the generated keys file. */
export function loadSecrets(config: Config): Secrets {
  const needed: KeyName[] = [];
  if (!config.channelKey) needed.push('channel_key');
  if (!config.adminToken) needed.push('admin_token');
  const file =
    needed.length > 0
      ? fileKeys(config.dataDir, needed)
      : { keys: {} as KeysFile, generated: [], path: null };
  const channelKey = config.channelKey ?? file.keys.channel_key ?? '';
  return {
    channelKeyring: makeKeyring(toKey(channelKey), config.channelKeysRetired.map(toKey)),
    adminToken: config.adminToken ?? file.keys.admin_token ?? '',
    generated: file.generated,
    path: file.path,
  };
}
