import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Keyring, keyIdOf, makeKeyring, randomToken, type SymmetricKey } from '../shared/crypto.js';
import type { Config } from './schema.js';

/** Where the embedded default keeps the keys it generated; owner-only. */
export const KEYS_FILE = 'keys.json';

const newKey = () => randomBytes(32).toString('base64');

/** Every generated secret, and how to make a new one. Production passes each through the environment. */
const GENERATORS = {
  channel_key: newKey,
  card_master_key: newKey,
  card_hash_key: newKey,
  admin_token: () => `adm_${randomToken(32)}`,
} as const;
type KeyName = keyof typeof GENERATORS;
type KeysFile = Partial<Record<KeyName, string>> & { card_master_keys_retired?: string[] };

/** A keyring that may change while the process runs (`recard keys rotate` on the keys file). */
export interface KeyringSource {
  current(): Keyring;
}

export interface Secrets {
  channelKeyring: Keyring;
  cardKeys: KeyringSource;
  cardHashKey: Buffer;
  adminToken: string;
  /** Keys created by this start (the caller logs it: they must be backed up). */
  generated: KeyName[];
  path: string | null;
}

export function toKey(b64: string): SymmetricKey {
  const key = Buffer.from(b64, 'base64');
  return { id: keyIdOf(key), key };
}

const keysPath = (dataDir: string) => join(dataDir, KEYS_FILE);

function readKeysFile(path: string): KeysFile {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as KeysFile) : {};
}

/** Written whole to a temporary file and renamed, mode 0600 in a 0700 folder: never half a file. */
function writeKeysFile(dataDir: string, keys: KeysFile): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = keysPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  chmodSync(path, 0o600);
}

/** Reads the keys file, adding whatever it lacks (first run, or a version that needs a new key). */
function fileKeys(dataDir: string, needed: KeyName[]): { keys: KeysFile; generated: KeyName[] } {
  const keys = readKeysFile(keysPath(dataDir));
  const generated = needed.filter((name) => !keys[name]);
  if (generated.length > 0) {
    for (const name of generated) keys[name] = GENERATORS[name]();
    writeKeysFile(dataDir, keys);
  }
  chmodSync(keysPath(dataDir), 0o600);
  return { keys, generated };
}

const RELOAD_CHECK_MS = 1000;

/**
 * The card master keyring from the keys file, re-read when the file changes (checked at most once a
 * second), so that a running server learns a key rotated by `recard keys rotate` without a restart.
 */
function fileCardKeys(dataDir: string, suite: Config['cryptoSuite']): KeyringSource {
  const path = keysPath(dataDir);
  let mtimeMs = -1;
  let checkedAt = 0;
  let ring: Keyring | null = null;
  return {
    current() {
      const now = Date.now();
      if (ring && now - checkedAt < RELOAD_CHECK_MS) return ring;
      checkedAt = now;
      const m = statSync(path).mtimeMs;
      if (!ring || m !== mtimeMs) {
        const keys = readKeysFile(path);
        ring = makeKeyring(
          toKey(keys.card_master_key ?? ''),
          (keys.card_master_keys_retired ?? []).map(toKey),
          suite,
        );
        mtimeMs = m;
      }
      return ring;
    },
  };
}

/**
 * Secrets from the environment where set (production), otherwise from the generated keys file. The
 * keyrings seal with the configured suite (RECARD_CRYPTO_SUITE) and open either format.
 */
export function loadSecrets(config: Config): Secrets {
  const needed: KeyName[] = [];
  if (!config.channelKey) needed.push('channel_key');
  if (!config.cardMasterKey) needed.push('card_master_key');
  if (!config.cardHashKey) needed.push('card_hash_key');
  if (!config.adminToken) needed.push('admin_token');
  const file = needed.length > 0 ? fileKeys(config.dataDir, needed) : { keys: {} as KeysFile, generated: [] };
  const envCardRing = config.cardMasterKey
    ? makeKeyring(toKey(config.cardMasterKey), config.cardMasterKeysRetired.map(toKey), config.cryptoSuite)
    : null;
  return {
    channelKeyring: makeKeyring(
      toKey(config.channelKey ?? file.keys.channel_key ?? ''),
      config.channelKeysRetired.map(toKey),
      config.cryptoSuite,
    ),
    cardKeys: envCardRing ? { current: () => envCardRing } : fileCardKeys(config.dataDir, config.cryptoSuite),
    cardHashKey: Buffer.from(config.cardHashKey ?? file.keys.card_hash_key ?? '', 'base64'),
    adminToken: config.adminToken ?? file.keys.admin_token ?? '',
    generated: file.generated,
    path: needed.length > 0 ? keysPath(config.dataDir) : null,
  };
}

/**
 * For `recard keys rotate` on the embedded default: a new card master key becomes active in the keys
 * file and the old one is kept as retired until every data key is re-wrapped. Returns the new key id.
 */
export function rotateFileCardMasterKey(dataDir: string): string {
  const keys = readKeysFile(keysPath(dataDir));
  if (!keys.card_master_key) throw new Error(`no card_master_key in ${keysPath(dataDir)}`);
  const fresh = newKey();
  keys.card_master_keys_retired = [keys.card_master_key, ...(keys.card_master_keys_retired ?? [])];
  keys.card_master_key = fresh;
  writeKeysFile(dataDir, keys);
  return toKey(fresh).id;
}

/** After a completed rotation: retired keys no data key needs any more leave the file. */
export function dropRetiredFileCardKeys(dataDir: string): void {
  const keys = readKeysFile(keysPath(dataDir));
  delete keys.card_master_keys_retired;
  writeKeysFile(dataDir, keys);
}
