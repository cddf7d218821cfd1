import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/**
 * argon2id at the OWASP baseline (19 MiB, 2 passes, 1 lane): about 20–40 ms a check on one core,
 * hashed off the event loop by the native library's own thread pool.
 */
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, OPTIONS);

/** A malformed stored hash counts as a wrong password, never as an error the caller could tell apart. */
export async function passwordMatches(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/**
 * Checked against when the username is unknown, so that an unknown user costs the same hashing
 * time as a wrong password (no user enumeration by timing). Made once per process, lazily.
 */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(18).toString('base64url'));
  return dummy;
}

/** A password for `recard admin create` when none is piped in: 24 base64url characters (144 bits). */
export const generatePassword = (): string => randomBytes(18).toString('base64url');
