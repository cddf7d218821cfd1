import type { Failure } from '../../shared/result.js';

/** Why a login or a change to an admin user is refused (docs/security.md#admin-users-and-roles). */
export type AdminError = Failure<
  'admin_login_failed' | 'admin_locked' | 'admin_username_taken' | 'resource_not_found' | 'invalid_request'
>;
