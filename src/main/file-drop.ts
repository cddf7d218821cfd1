import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import ssh2 from 'ssh2';
import type { FileFormat } from '../modules/batches/index.js';
import { secretMatches } from '../modules/channels/index.js';
import {
  type FileDrop,
  type FileDropEntry,
  type FileDropPort,
  startFileDrop,
} from '../modules/filedrop/index.js';
import type { Context } from './context.js';

/**
 * What a dropped file's name says (docs/batches.md#file-drop): `*.csv` and `*.xlsx` carry card type
 * and face value per line; a text file names them, `<card_type>.<face value>[.anything].txt`.
 */
export function fileMeta(
  name: string,
): { format: FileFormat; cardType?: string; declaredFaceValue?: number } | { error: string } {
  const lower = name.toLowerCase();
  if (lower.endsWith('.csv')) return { format: 'csv' };
  if (lower.endsWith('.xlsx')) return { format: 'xlsx' };
  const text = /^([a-z0-9_]{1,40})\.([1-9][0-9]{0,8})(?:\.[^/]*)?\.txt$/i.exec(name);
  if (text?.[1] && text[2]) return { format: 'text', cardType: text[1], declaredFaceValue: Number(text[2]) };
  return {
    error:
      'Name a text file <card_type>.<face value in fen>[.anything].txt (e.g. cmcc_national.10000.stock.txt), or upload .csv or .xlsx.',
  };
}

/** The file's name as the batch's merchant_batch_id when it can be one, else a digest of the name. */
export function batchIdOfName(name: string): string {
  return /^[\x21-\x7e]{1,48}$/.test(name)
    ? name
    : `file-${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

const REPORT_SUFFIX = '.report.csv';

/** The file drop's side of batches and channels: a channel logs in with its id and its API secret. */
export function fileDropPort(ctx: Context): FileDropPort {
  const batchesOf = async (channelId: string) =>
    (await ctx.batches.rowsOf(channelId, 1000)).filter((b) => b.source === 'file_drop');
  return {
    async login(username, password) {
      const creds = await ctx.channels.credentials(username);
      if (creds?.channel.status !== 'active') return null;
      const matches = secretMatches(creds, password, ctx.clock.now());
      return matches ? { channelId: creds.channel.id } : null;
    },

    async receive(user, fileName, body: Readable) {
      const meta = fileMeta(fileName);
      const channel = (await ctx.channels.credentials(user.channelId))?.channel;
      if ('error' in meta || !channel) {
        body.resume();
        throw new Error('error' in meta ? meta.error : 'The channel is gone.');
      }
      const result = await ctx.batches.upload(
        channel,
        {
          source: 'file_drop',
          merchantBatchId: batchIdOfName(fileName),
          fileName,
          format: meta.format,
          ...(meta.cardType ? { cardType: meta.cardType } : {}),
          ...(meta.declaredFaceValue ? { declaredFaceValue: meta.declaredFaceValue } : {}),
          sellerId: channel.id,
        },
        body,
      );
      if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
      return { batchId: result.value.batch.id };
    },

    async listIn(user): Promise<FileDropEntry[]> {
      return (await batchesOf(user.channelId)).map((b) => ({
        name: b.file_name ?? b.merchant_batch_id,
        size: Number(b.file_bytes),
        mtimeMs: Number(b.created_at),
      }));
    },

    async listOut(user): Promise<FileDropEntry[]> {
      return (await batchesOf(user.channelId))
        .filter((b) => b.report_csv !== null)
        .map((b) => ({
          name: `${b.file_name ?? b.merchant_batch_id}${REPORT_SUFFIX}`,
          size: Buffer.byteLength(b.report_csv ?? '', 'utf8'),
          mtimeMs: Number(b.completed_at ?? b.updated_at),
        }));
    },

    async readOut(user, name) {
      if (!name.endsWith(REPORT_SUFFIX)) return null;
      const source = name.slice(0, -REPORT_SUFFIX.length);
      const batch = (await batchesOf(user.channelId)).find(
        (b) => (b.file_name ?? b.merchant_batch_id) === source,
      );
      return batch?.report_csv ? Buffer.from(batch.report_csv, 'utf8') : null;
    },
  };
}

/** The host key, made on first start in the data folder (owner-only), so that clients can pin it. */
export function fileDropHostKey(dataDir: string): string {
  const path = join(dataDir, 'file-drop-host-key');
  if (existsSync(path)) return readFileSync(path, 'utf8');
  const key = ssh2.utils.generateKeyPairSync('ed25519').private;
  writeFileSync(path, key, { mode: 0o600 });
  chmodSync(path, 0o600);
  return key;
}

/** Starts the SFTP file drop of this process on `port` (0: any free port). */
export function startContextFileDrop(ctx: Context, port: number, host = '0.0.0.0'): Promise<FileDrop> {
  return startFileDrop({
    host,
    port,
    hostKeys: [fileDropHostKey(ctx.config.dataDir)],
    files: fileDropPort(ctx),
    maxFileBytes: ctx.config.batchMaxBytes,
    log: (msg, fields) => ctx.logger.info(fields ?? {}, `file drop: ${msg}`),
  });
}
