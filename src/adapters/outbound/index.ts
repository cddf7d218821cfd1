/** Outbound HTTP to addresses chosen by channels, behind one guard (docs/webhooks.md#outbound-safety). */
export { type Allowlist, classifyAddress, parseAllowlist } from './address.js';
export {
  MAX_URL_LENGTH,
  type OutboundAttempt,
  OutboundGuard,
  type OutboundRefusal,
  type Resolver,
} from './guard.js';
