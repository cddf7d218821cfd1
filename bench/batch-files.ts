import { randomBytes } from 'node:crypto';
import { openStorage } from '../src/storage/database.js';

/**
 * A text file of `n` cards in the format of China Mobile's `cmcc_national`, not in the simulators'
 * base (each one a wrong secret to the issuer), numbered from a random run so that two files differ.
 */
export function unknownCardFile(n: number): Buffer {
  const run = randomBytes(3).readUIntBE(0, 3) % 1000;
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    lines.push(
      `${String(run).padStart(3, '0')}${String(i).padStart(14, '0')} ${String(100_000_000_000 + i).padStart(18, '1')}`,
    );
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** Drops a bench's PostgreSQL schema and everything in it (nothing if the database is not there). */
export async function dropBenchSchema(url: string, schema: string): Promise<void> {
  const storage = await openStorage({ url, schema, poolSize: 1 }).catch(() => null);
  await storage?.db.schema.dropSchema(schema).ifExists().cascade().execute();
  await storage?.close();
}
