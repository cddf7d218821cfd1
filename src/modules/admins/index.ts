/** Operators: admin users, their roles and sessions, and the audit log (docs/security.md). */
export { type AuditLog, type AuditRecord, createAuditLog, REDACTED, redact } from './audit.js';
export {
  ADMIN_ROLES,
  ADMIN_STATUSES,
  type AdminPrincipal,
  type AdminRole,
  type AdminStatus,
  type AdminUserView,
  NewAdminUser,
} from './model.js';
export { generatePassword } from './passwords.js';
export { adminSessionRoutes, adminUserRoutes } from './routes.js';
export { type AdminService, createAdminService, LOCK_MS, MAX_FAILED_LOGINS, tokenHash } from './service.js';
export { PRUNE_SESSIONS, pruneSessionsHandler } from './worker.js';
