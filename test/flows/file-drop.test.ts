import iconv from 'iconv-lite';
import SftpClient from 'ssh2-sftp-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import { batchIdOfName, fileMeta, startContextFileDrop } from '../../src/main/file-drop.js';
import type { BatchView } from '../../src/modules/batches/index.js';
import type { FileDrop } from '../../src/modules/filedrop/index.js';
import type { SimCard } from '../../src/simulators/card-base.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

/**
 * The SFTP file drop end to end (docs/batches.md#file-drop): a channel logs in with its id and
 * secret, puts a GB18030 card file in in/, and its verified report appears in out/, the same report
 * the API gives for the batch.
 */
describe.each(storageTargets())('file drop on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let drop: FileDrop;
  type Channel = Awaited<ReturnType<TestServer['createChannel']>>;
  let ch: Channel;
  let other: Channel;

  const connect = async (username: string, password: string) => {
    const c = new SftpClient();
    await c.connect({ host: '127.0.0.1', port: drop.port, username, password, readyTimeout: 5_000 });
    return c;
  };

  beforeAll(async () => {
    sims = await startSimulators({ seed: `file-drop-${target.name}`, perLabel: { valid: 20, used: 5 } });
    t = await startTestServer(target);
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    ch = await t.createChannel({ name: 'Dropping stock' });
    other = await t.createChannel({ name: 'Someone else' });
    drop = await startContextFileDrop(t.ctx, 0, '127.0.0.1');
  });
  afterAll(async () => {
    await drop.close();
    await t.stop();
    await sims.close();
  });

  it('names what a file is by its name', () => {
    expect(fileMeta('cmcc_national.10000.txt')).toEqual({
      format: 'text',
      cardType: 'cmcc_national',
      declaredFaceValue: 10000,
    });
    expect(fileMeta('jd_ecard.5000.2026-12-02.night.TXT')).toMatchObject({
      cardType: 'jd_ecard',
      declaredFaceValue: 5000,
    });
    expect(fileMeta('stock.csv')).toEqual({ format: 'csv' });
    expect(fileMeta('stock.XLSX')).toEqual({ format: 'xlsx' });
    expect(fileMeta('cards.txt')).toHaveProperty('error');
    expect(batchIdOfName('stock.csv')).toBe('stock.csv');
    expect(batchIdOfName('卡密 十二月.csv')).toMatch(/^file-[0-9a-f]{40}$/);
  });

  it('turns a file put in in/ into a batch whose verified report appears in out/', async () => {
    const pool = sims.cards.filter((c) => c.cardType === 'cmcc_national' && c.label === 'valid');
    const face = pool[0]?.faceValue as number;
    const cards = pool.filter((c) => c.faceValue === face).slice(0, 3) as SimCard[];
    const spent = sims.cards.find(
      (c) => c.cardType === 'cmcc_national' && c.label === 'used' && c.faceValue === face,
    );
    const lines = [...cards, ...(spent ? [spent] : [])].map((c) => `${c.number} ${c.secret}`);
    // A header line in Chinese, as merchants' templates have: GB18030 bytes, one refused line.
    const file = iconv.encode(['卡号 卡密', ...lines].join('\r\n'), 'gb18030');
    const name = `cmcc_national.${face}.stock.txt`;
    const sftp = await connect(ch.id, ch.secret);
    try {
      await sftp.put(file, `/in/${name}`);
      expect((await sftp.list('/in')).map((e) => e.name)).toContain(name);
      const reportName = `${name}.report.csv`;
      await waitFor(
        async () => (await sftp.list('/out')).some((e) => e.name === reportName),
        30_000,
        'the report in out/',
      );
      const report = (await sftp.get(`/out/${reportName}`)) as Buffer;
      const text = report.toString('utf8');
      expect(text).toContain('line,card_type,card_number_masked');
      expect(text).toMatch(/\r\n1,cmcc_national,.*,refused,invalid_card_number,/);
      expect(text.match(/,redeemed,/g)).toHaveLength(cards.length);
      if (spent) expect(text).toMatch(/,invalid,/);
      for (const c of cards) expect(text).not.toContain(c.secret);

      // The same batch over the API: the same report.
      const list = (await t.ctx.batches.rowsOf(ch.id, 10)).find((b) => b.file_name === name);
      expect(list).toBeDefined();
      const view = (await ch.client.get<BatchView>(`/v1/batches/${list?.id}`)).body;
      expect(view.source).toBe('file_drop');
      expect(view.encoding).toBe('gb18030');
      const api = await ch.client.download(`/v1/batches/${list?.id}/report`);
      expect(api.body.equals(report)).toBe(true);

      // The same file put again is the same batch; another channel sees none of it.
      await sftp.put(file, `/in/${name}`);
      expect((await t.ctx.batches.rowsOf(ch.id, 10)).filter((b) => b.file_name === name)).toHaveLength(1);
      const stranger = await connect(other.id, other.secret);
      try {
        expect(await stranger.list('/out')).toEqual([]);
        await expect(stranger.get(`/out/${reportName}`)).rejects.toThrow();
      } finally {
        await stranger.end();
      }
    } finally {
      await sftp.end();
    }
  });

  it('refuses a file it cannot take, with the reason, and keeps nothing of it', async () => {
    const before = await t.counts();
    const sftp = await connect(ch.id, ch.secret);
    try {
      await expect(sftp.put(Buffer.from('1 2\n'), '/in/cards.txt')).rejects.toThrow(/card_type/);
      await expect(
        sftp.put(
          Buffer.from('card_type,card_number,card_secret,declared_face_value,colour\n'),
          '/in/bad.csv',
        ),
      ).rejects.toThrow(/unknown_column/);
    } finally {
      await sftp.end();
    }
    expect(await t.counts()).toEqual(before);
  });

  it('lets in only a channel with its secret', async () => {
    await expect(connect(ch.id, 'sk_wrong')).rejects.toThrow();
    await expect(connect('ch_nobody', ch.secret)).rejects.toThrow();
  });
});
