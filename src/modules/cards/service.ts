import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { CardTypeError } from './errors.js';
import type { CardTypePatch, CardTypeView, NewCardType } from './model.js';
import { patternProblem } from './patterns.js';
import { type CardTypeRow, findCardType, insertCardType, listCardTypes, updateCardType } from './store.js';

export interface CardTypeServiceDeps {
  db: Db;
  clock: Clock;
  /** How long another process may go on using a changed catalogue row (default 1 s). */
  cacheMs?: () => number;
  /** Told after this process changed a card type, so that other processes forget it too. */
  onChanged?: (code: string) => void;
}

function view(row: CardTypeRow): CardTypeView {
  return {
    code: row.code,
    name: row.name,
    issuer: row.issuer,
    category: row.category,
    number_pattern: row.number_pattern,
    secret_pattern: row.secret_pattern,
    checksum: row.checksum,
    face_values: JSON.parse(row.face_values) as number[],
    currency: row.currency as CardTypeView['currency'],
    enabled: row.enabled === 1,
    updated_at: rfc3339(row.updated_at),
  };
}

type CardTypeResult = Result<CardTypeView, CardTypeError['code']>;

/** Patterns run on untrusted input: they must compile under RE2 (linear-time) and be anchored. */
function checkPattern(pattern: string, field: string): CardTypeError | undefined {
  const problem = patternProblem(pattern);
  return problem ? fail('invalid_request', `${field} ${problem}.`, { field }) : undefined;
}

function checkRules(input: CardTypePatch): CardTypeError | undefined {
  return (
    (input.number_pattern === undefined ? undefined : checkPattern(input.number_pattern, 'number_pattern')) ??
    (input.secret_pattern === undefined ? undefined : checkPattern(input.secret_pattern, 'secret_pattern'))
  );
}

/** How long another process may go on using a changed catalogue row, unless told of changes. */
const CATALOGUE_TTL_MS = 1_000;

const sortedFaces = (faces: number[]) => JSON.stringify([...faces].sort((a, b) => a - b));

export function createCardTypeService({
  db,
  clock,
  cacheMs = () => CATALOGUE_TTL_MS,
  onChanged,
}: CardTypeServiceDeps) {
  // Intake reads its card type on every order; the catalogue changes by hand. A change made here
  // applies at once, one made by another process when it is told or within `cacheMs`.
  const cached = new Map<string, { row: CardTypeRow | undefined; at: number }>();
  const changed = (code: string) => {
    cached.delete(code);
    onChanged?.(code);
  };
  return {
    /** Drops what this process holds of a card type (null: of all), told of a change made elsewhere. */
    forgetCached(code: string | null): void {
      if (code === null) cached.clear();
      else cached.delete(code);
    },

    /** The catalogue row for intake and quotes; undefined for an unknown code. */
    async find(code: string): Promise<CardTypeRow | undefined> {
      const now = clock.now();
      const hit = cached.get(code);
      if (hit && now - hit.at < cacheMs()) return hit.row;
      const row = await findCardType(db, code);
      // Unknown codes are not kept: callers could fill the map with made-up ones.
      if (row) cached.set(code, { row, at: now });
      else cached.delete(code);
      return row;
    },

    async list(options: { enabledOnly: boolean }): Promise<CardTypeView[]> {
      return (await listCardTypes(db, options)).map(view);
    },

    async get(code: string): Promise<CardTypeResult> {
      const row = await findCardType(db, code);
      if (!row) return fail('card_type_not_found', `No card type ${code}.`, { field: 'code' });
      return ok(view(row));
    },

    async create(input: NewCardType): Promise<CardTypeResult> {
      const invalid = checkRules(input);
      if (invalid) return invalid;
      const now = clock.now();
      const row: CardTypeRow = {
        ...input,
        face_values: sortedFaces(input.face_values),
        enabled: input.enabled === false ? 0 : 1,
        created_at: now,
        updated_at: now,
      };
      const inserted = await insertCardType(db, row);
      changed(input.code);
      if (!inserted)
        return fail('card_type_exists', `A card type ${input.code} exists; change it with PATCH.`, {
          field: 'code',
        });
      return ok(view(row));
    },

    /** Orders keep what they were submitted with: a change applies to new orders only. */
    async update(code: string, patch: CardTypePatch): Promise<CardTypeResult> {
      const invalid = checkRules(patch);
      if (invalid) return invalid;
      const { face_values, enabled, ...rest } = patch;
      const changes: Partial<CardTypeRow> = { ...rest, updated_at: clock.now() };
      if (face_values !== undefined) changes.face_values = sortedFaces(face_values);
      if (enabled !== undefined) changes.enabled = enabled ? 1 : 0;
      const updated = await updateCardType(db, code, changes);
      changed(code);
      if (!updated) return fail('card_type_not_found', `No card type ${code}.`, { field: 'code' });
      return this.get(code);
    },
  };
}

export type CardTypeService = ReturnType<typeof createCardTypeService>;
