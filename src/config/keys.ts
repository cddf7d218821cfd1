import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Keyring, keyIdOf, makeKeyring } from '../shared/crypto.js';
import type { Config } from './schema.js';

/** Where the embedded default keeps the keys it generated; owner-only. */
export const KEYS_FILE = 'keys.json';

interface KeysFile {
  channel_key: string;
}

function toKey(b64: string) {
  const key = Buffer.from(b64, 'base64');
  return { id: keyIdOf(key), key };
}

/**
 * The keyring for channel secrets: from RECARD_CHANNEL_KEY when set (production), otherwise from
 * `<data dir>/keys.json`, generated on first run. `generated` tells the caller to say so in the log.
 */
export function loadChannelKeyring(config: Config): { keyring: Keyring; generated: boolean; source: string } {
  const retired = config.channelKeysRetired.map(toKey);
  if (config.channelKey) {
    return {
      keyring: makeKeyring(toKey(config.channelKey), retired),
      generated: false,
      source: 'RECARD_CHANNEL_KEY',
    };
  }
  const path = join(config.dataDir, KEYS_FILE);
  let generated = false;
  if (!existsSync(path)) {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const file: KeysFile = { channel_key: randomBytes(32).toString('base64') };
    writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    generated = true;
  }
  chmodSync(path, 0o600);
  const file = JSON.parse(readFileSync(path, 'utf8')) as KeysFile;
  return { keyring: makeKeyring(toKey(file.channel_key), retired), generated, source: path };
}
