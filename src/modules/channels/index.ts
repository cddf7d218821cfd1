/** Channels' face: credentials, signed-request authentication, policies. */
export { type Authenticator, createAuthenticator } from './authenticate.js';
export { claimDailyUsage, type DailyLimitError, dailyReset, dailyUsage } from './daily-usage.js';
export {
  ChannelLimits,
  ipAllowed,
  KIND_DEFAULTS,
  ORDER_FIELDS,
  type OrderField,
} from './limits.js';
export {
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
  type NewChannel,
  RotatedSecret,
  RotateSecretRequest,
  SECRET_KINDS,
  SETTLEMENT_CYCLES,
  type SecretKind,
  type SettlementCycle,
  type SettlementSettings,
} from './model.js';
export { channelAdminRoutes, channelRoutes } from './routes.js';
export { type CallbackProfile, type ChannelService, createChannelService } from './service.js';
export { PRUNE_NONCES, pruneNoncesHandler } from './worker.js';
