import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation.js';

/** Every migration, in order. Names sort in application order; never rename or edit a shipped one. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_foundation': m0001,
};
