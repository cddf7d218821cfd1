import safeRegex from 'safe-regex2';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { ApiError } from '../../shared/errors.js';
import type { Db } from '../../storage/database.js';
import type { Checksum } from './formats.js';
import type { CardTypePatch, CardTypeView, NewCardType } from './model.js';
import { type CardTypeRow, findCardType, insertCardType, listCardTypes, updateCardType } from './store.js';

export interface CardTypeServiceDeps {
  db: Db;
  clock: Clock;
}

function view(row: CardTypeRow): CardTypeView {
  return {
    code: row.code,
    name: row.name,
    issuer: row.issuer,
    category: row.category as CardTypeView['category'],
    number_pattern: row.number_pattern,
    secret_pattern: row.secret_pattern,
    checksum: row.checksum as Checksum,
    face_values: JSON.parse(row.face_values) as number[],
    currency: row.currency,
    enabled: row.enabled === 1,
    updated_at: rfc3339(row.updated_at),
  };
}

/**
 * Patterns come from operators but run on untrusted input, so they must compile, be anchored,
 * and be free of catastrophic backtracking (safe-regex2's star-height check).
 */
function checkPattern(pattern: string, field: string): void {
  let ok = true;
  try {
    new RegExp(pattern);
  } catch {
    ok = false;
  }
  if (!ok) throw new ApiError('invalid_request', `${field} is not a valid regular expression.`, { field });
  if (!pattern.startsWith('^') || !pattern.endsWith('$')) {
    throw new ApiError('invalid_request', `${field} must be anchored: start with ^ and end with $.`, {
      field,
    });
  }
  if (!safeRegex(pattern)) {
    throw new ApiError(
      'invalid_request',
      `${field} could backtrack catastrophically; simplify nested repetition.`,
      { field },
    );
  }
}

function checkRules(input: CardTypePatch): void {
  if (input.number_pattern !== undefined) checkPattern(input.number_pattern, 'number_pattern');
  if (input.secret_pattern !== undefined) checkPattern(input.secret_pattern, 'secret_pattern');
}

const sortedFaces = (faces: number[]) => JSON.stringify([...faces].sort((a, b) => a - b));

export function createCardTypeService({ db, clock }: CardTypeServiceDeps) {
  return {
    async list(options: { enabledOnly: boolean }): Promise<CardTypeView[]> {
      return (await listCardTypes(db, options)).map(view);
    },

    async get(code: string): Promise<CardTypeView> {
      const row = await findCardType(db, code);
      if (!row) throw new ApiError('card_type_not_found', `No card type ${code}.`, { field: 'code' });
      return view(row);
    },

    async create(input: NewCardType): Promise<CardTypeView> {
      checkRules(input);
      const now = clock.now();
      const row: CardTypeRow = {
        ...input,
        face_values: sortedFaces(input.face_values),
        enabled: input.enabled === false ? 0 : 1,
        created_at: now,
        updated_at: now,
      };
      if (!(await insertCardType(db, row))) {
        throw new ApiError('card_type_exists', `A card type ${input.code} exists; change it with PATCH.`, {
          field: 'code',
        });
      }
      return view(row);
    },

    /** Orders keep what they were submitted with: a change applies to new orders only. */
    async update(code: string, patch: CardTypePatch): Promise<CardTypeView> {
      checkRules(patch);
      const { face_values, enabled, ...rest } = patch;
      const changes: Partial<CardTypeRow> = { ...rest, updated_at: clock.now() };
      if (face_values !== undefined) changes.face_values = sortedFaces(face_values);
      if (enabled !== undefined) changes.enabled = enabled ? 1 : 0;
      if (!(await updateCardType(db, code, changes))) {
        throw new ApiError('card_type_not_found', `No card type ${code}.`, { field: 'code' });
      }
      return this.get(code);
    },
  };
}

export type CardTypeService = ReturnType<typeof createCardTypeService>;
