/** Channels' face: credentials, signed-request authentication, policies. */

export {
  type AuthenticatedCall,
  type Authenticator,
  createAuthenticator,
  type KeyVerifier,
  type SignedRequest,
  type TokenVerifier,
} from './authenticate.js';
export {
  claimDailyUsage,
  claimDailyUsageMany,
  type DailyLimitError,
  dailyReset,
  dailyUsage,
} from './daily-usage.js';
export { channelKeyAdminRoutes, channelKeyRoutes } from './key-routes.js';
export { activeKeys, createKeyRegistry, type KeyParser, type KeyRegistry, type ParsedKey } from './keys.js';
export {
  ChannelLimits,
  ipAllowed,
  KIND_DEFAULTS,
  ORDER_FIELDS,
  type OrderField,
} from './limits.js';
export {
  type ActiveKey,
  type AuthSettings,
  CALLBACK_ACKS,
  CALLBACK_FORMATS,
  CALLBACK_SIGN_TYPES,
  type CallbackAck,
  type CallbackFormat,
  type CallbackSettings,
  type CallbackSignType,
  CHANNEL_KINDS,
  type ChannelKind,
  type ChannelStatus,
  type ChannelView,
  FACE_VALUE_POLICIES,
  type FaceValuePolicy,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type NewChannel,
  RotatedSecret,
  RotateSecretRequest,
  SECRET_KINDS,
  SETTLEMENT_CYCLES,
  type SecretKind,
  type SettlementCycle,
  type SettlementSettings,
  SIGNATURE_SCHEMES,
  type SignatureScheme,
  secretMatches,
} from './model.js';
export { createOauthService, type OauthService, type OauthSettings } from './oauth.js';
export { oauthRoutes } from './oauth-routes.js';
export { channelAdminRoutes, channelRoutes } from './routes.js';
export {
  type CallbackProfile,
  type ChannelService,
  createChannelService,
  DEFAULT_SETTLEMENT,
} from './service.js';
export { PRUNE_NONCES, pruneNoncesHandler } from './worker.js';
