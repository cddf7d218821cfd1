import { type Static, Type } from '@sinclair/typebox';
import { ERROR_CODES } from '../shared/errors.js';

/** The one error body every failing request gets (docs/errors.md). */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(
        ERROR_CODES.map((c) => Type.Literal(c)),
        { description: 'Stable code; see docs/errors.md.' },
      ),
      message: Type.String({ description: 'For people; may change.' }),
      field: Type.Optional(Type.String({ description: 'The field, header or parameter at fault.' })),
      request_id: Type.String(),
    }),
  },
  { title: 'Error' },
);
export type ErrorBody = Static<typeof ErrorBody>;
