import { type Static, Type } from '@sinclair/typebox';
import { CURRENCY_CODES } from '../../shared/money.js';
import { CHECKSUMS } from './formats.js';

export const CARD_CATEGORIES = ['phone_recharge', 'ecommerce_gift', 'supermarket_gift', 'fuel'] as const;
export type CardCategory = (typeof CARD_CATEGORIES)[number];

const Code = Type.String({
  pattern: '^[a-z][a-z0-9_]{1,39}$',
  description: 'Stable identifier, e.g. `cmcc_national`.',
});
const Pattern = Type.String({
  minLength: 3,
  maxLength: 200,
  description:
    'Anchored regular expression (`^…$`) over the canonical form: no spaces or dashes, upper case.',
});
const FaceValues = Type.Array(Type.Integer({ minimum: 1, maximum: 100_000_000 }), {
  minItems: 1,
  maxItems: 50,
  uniqueItems: true,
  description: 'Accepted face values in minor units (fen for CNY).',
});
const fields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  issuer: Type.String({
    pattern: '^[a-z][a-z0-9_]{1,39}$',
    description: 'Who verifies and redeems the card.',
  }),
  category: Type.Union(CARD_CATEGORIES.map((c) => Type.Literal(c))),
  number_pattern: Pattern,
  secret_pattern: Pattern,
  checksum: Type.Union(
    CHECKSUMS.map((c) => Type.Literal(c)),
    { description: 'Check digit rule of the number.' },
  ),
  face_values: FaceValues,
  currency: Type.Union(
    CURRENCY_CODES.map((c) => Type.Literal(c)),
    { description: 'ISO 4217 code (or USDT).' },
  ),
  enabled: Type.Boolean(),
};

export const CardTypeView = Type.Object(
  { code: Code, ...fields, updated_at: Type.String({ format: 'date-time' }) },
  { title: 'CardType' },
);
export type CardTypeView = Static<typeof CardTypeView>;

export const NewCardType = Type.Object(
  { code: Code, ...fields, enabled: Type.Optional(fields.enabled) },
  { additionalProperties: false },
);
export type NewCardType = Static<typeof NewCardType>;

export const CardTypePatch = Type.Partial(Type.Object(fields, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
});
export type CardTypePatch = Static<typeof CardTypePatch>;

export const CardTypeParams = Type.Object({ code: Code });
export const CardTypeList = Type.Object({ data: Type.Array(CardTypeView) });
