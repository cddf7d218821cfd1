/** Channels' face: credentials, signed-request authentication, policies. */
export { type Authenticator, createAuthenticator } from './authenticate.js';
export {
  CHANNEL_KINDS,
  type ChannelKind,
  type ChannelStatus,
  type ChannelView,
  FACE_VALUE_POLICIES,
  type FaceValuePolicy,
  type NewChannel,
} from './model.js';
export { channelAdminRoutes, channelRoutes } from './routes.js';
export { type ChannelService, createChannelService } from './service.js';
export { PRUNE_NONCES, pruneNoncesHandler } from './worker.js';
