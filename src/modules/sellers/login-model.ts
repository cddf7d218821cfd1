import { type Static, Type } from '@sinclair/typebox';

const Time = Type.String({ format: 'date-time' });

export const ChannelParams = Type.Object({
  channel_id: Type.String({
    pattern: '^ch_[0-9a-z]{26}$',
    description: 'The h5 channel of the seller page.',
  }),
});

export const Credentials = Type.Object(
  {
    phone: Type.String({
      pattern: '^1[3-9][0-9]{9}$',
      description: 'Mainland mobile number, 11 digits. Kept only as a keyed hash and its last four digits.',
    }),
    password: Type.String({
      minLength: 10,
      maxLength: 128,
      description: 'At least 10 characters. Stored as Argon2id.',
    }),
  },
  { additionalProperties: false, title: 'SellerCredentials' },
);
export type Credentials = Static<typeof Credentials>;

export const SellerAccountView = Type.Object(
  {
    channel_id: Type.String(),
    seller_id: Type.String({
      examples: ['h5_01jq3v6y0k8w5m2d9c4f7h1r3t'],
      description: 'The seller orders and payouts name; not derived from the phone.',
    }),
    phone_masked: Type.String({ examples: ['1******1234'] }),
    created_at: Time,
  },
  { title: 'SellerAccount' },
);
export type SellerAccountView = Static<typeof SellerAccountView>;

export const SessionView = Type.Object(
  {
    channel_id: Type.String(),
    seller_id: Type.String(),
    phone_masked: Type.String({ examples: ['1******1234'] }),
    csrf_token: Type.String({
      description:
        'Send it as X-Recard-CSRF with every POST, PUT, PATCH or DELETE that relies on the cookie.',
    }),
    expires_at: Type.String({ format: 'date-time', description: 'The absolute end, whatever the activity.' }),
    idle_expires_at: Type.String({
      format: 'date-time',
      description: 'Ends here unless used before (each use moves it on).',
    }),
  },
  { title: 'SellerSession' },
);
export type SessionView = Static<typeof SessionView>;

export const LoginAnswer = Type.Composite(
  [
    SessionView,
    Type.Object({
      token: Type.String({
        description:
          'The session token, for app shells (`Authorization: Bearer`). The web page uses the HttpOnly cookie set with this answer and never stores it.',
      }),
    }),
  ],
  { title: 'SellerLogin' },
);

export const LoggedOut = Type.Object({ signed_out: Type.Literal(true) }, { title: 'SignedOut' });
