import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../test/harness/wait.js';
import { dropRetiredFileCardKeys, loadSecrets, rotateFileCardMasterKey } from './keys.js';
import { loadConfig } from './load.js';

describe('generated keys', () => {
  it('generates every missing key once, owner-only, and reuses them on the next start', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'recard-keys-'));
    const config = loadConfig({ RECARD_DATA_DIR: dataDir });
    const first = loadSecrets(config);
    expect(first.generated.sort()).toEqual([
      'admin_token',
      'card_hash_key',
      'card_master_key',
      'channel_key',
    ]);
    expect(statSync(join(dataDir, 'keys.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const second = loadSecrets(config);
    expect(second.generated).toEqual([]);
    expect(second.adminToken).toBe(first.adminToken);
    expect(second.cardHashKey.equals(first.cardHashKey)).toBe(true);
    expect(second.cardKeys.current().active.id).toBe(first.cardKeys.current().active.id);
  });

  it('a running process picks up a rotated card master key from the file, keeping the old one until dropped', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'recard-keys-'));
    const secrets = loadSecrets(loadConfig({ RECARD_DATA_DIR: dataDir }));
    const before = secrets.cardKeys.current().active.id;
    const after = rotateFileCardMasterKey(dataDir);
    expect(after).not.toBe(before);
    await sleep(1100);
    const ring = secrets.cardKeys.current();
    expect(ring.active.id).toBe(after);
    expect(ring.all.has(before)).toBe(true);
    dropRetiredFileCardKeys(dataDir);
    await sleep(1100);
    expect(secrets.cardKeys.current().all.has(before)).toBe(false);
    expect(
      JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8')).card_master_keys_retired,
    ).toBeUndefined();
  });
});
