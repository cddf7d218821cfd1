import { type Static, Type } from '@sinclair/typebox';

/**
 * Operator roles, weakest first. `reviewer` reads orders and events (and will decide reviews),
 * `finance` moves and reads money, `admin` may do everything (src/http/admin-roles.ts).
 */
export const ADMIN_ROLES = ['reviewer', 'finance', 'admin'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];
export const ADMIN_STATUSES = ['active', 'disabled'] as const;
export type AdminStatus = (typeof ADMIN_STATUSES)[number];

/** Who an admin request is made by: a logged-in user, or the configured token (break-glass). */
export type AdminPrincipal =
  | { kind: 'user'; id: string; username: string; role: AdminRole; tokenHash: string }
  | { kind: 'break-glass'; id: null; username: 'break-glass'; role: 'admin' };

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Role = Type.Union(
  ADMIN_ROLES.map((r) => Type.Literal(r)),
  { description: 'reviewer, finance or admin (docs/security.md#admin-users-and-roles).' },
);
const Username = Type.String({
  minLength: 3,
  maxLength: 64,
  pattern: '^[a-z0-9][a-z0-9._-]*$',
  description: 'Lower-case letters, digits, `.`, `_`, `-`.',
});
export const Password = Type.String({
  minLength: 12,
  maxLength: 256,
  description: 'At least 12 characters. Never logged or stored; only its argon2id hash is.',
});

export const AdminUserView = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    role: Role,
    status: Type.Union(ADMIN_STATUSES.map((s) => Type.Literal(s))),
    locked_until: Nullable(Time),
    last_login_at: Nullable(Time),
    created_at: Time,
    updated_at: Time,
  },
  { title: 'AdminUser' },
);
export type AdminUserView = Static<typeof AdminUserView>;
export const AdminUserList = Type.Object({ data: Type.Array(AdminUserView) });

export const NewAdminUser = Type.Object(
  { username: Username, role: Role, password: Password },
  { additionalProperties: false },
);
export type NewAdminUser = Static<typeof NewAdminUser>;

export const AdminUserPatch = Type.Object(
  {
    role: Type.Optional(Role),
    status: Type.Optional(Type.Union(ADMIN_STATUSES.map((s) => Type.Literal(s)))),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AdminUserPatch = Static<typeof AdminUserPatch>;

export const PasswordReset = Type.Object({ password: Password }, { additionalProperties: false });
export const AdminUserParams = Type.Object({ id: Type.String({ pattern: '^adm_[0-9a-z]{26}$' }) });

export const LoginRequest = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type LoginRequest = Static<typeof LoginRequest>;

export const SessionView = Type.Object(
  {
    token: Type.String({ description: 'Send as `Authorization: Bearer <token>`. Shown once.' }),
    user: AdminUserView,
    idle_expires_at: Time,
    expires_at: Time,
  },
  { title: 'AdminSession' },
);
export type SessionView = Static<typeof SessionView>;

export const AuditEntryView = Type.Object(
  {
    id: Type.String(),
    at: Time,
    actor: Type.Object({
      kind: Type.Union([Type.Literal('user'), Type.Literal('break-glass'), Type.Literal('anonymous')]),
      id: Nullable(Type.String()),
      name: Type.String(),
    }),
    operation_id: Type.String(),
    method: Type.String(),
    route: Type.String(),
    params: Type.Record(Type.String(), Type.Unknown()),
    request_body: Type.Unknown({ description: 'Secrets redacted.' }),
    status: Type.Integer(),
    before: Type.Unknown({ description: 'The object before the change, where the route declares it.' }),
    after: Type.Unknown({ description: 'The answer, secrets redacted.' }),
    request_id: Type.String(),
  },
  { title: 'AuditEntry' },
);
export type AuditEntryView = Static<typeof AuditEntryView>;
export const AuditList = Type.Object({
  data: Type.Array(AuditEntryView),
  next_cursor: Nullable(Type.String({ description: 'Ask again with `cursor` for older entries.' })),
});
export const AuditListQuery = Type.Object(
  {
    actor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Username or `break-glass`.' }),
    ),
    operation_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: '^aud_[0-9a-z]{26}$' })),
  },
  { additionalProperties: false },
);
export type AuditListQuery = Static<typeof AuditListQuery>;
