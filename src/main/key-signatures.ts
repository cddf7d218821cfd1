import type { KeyParser, KeyVerifier } from '../modules/channels/index.js';
import {
  type ChannelPublicKey,
  parseChannelPublicKey,
  verifyChannelSignature,
} from '../shared/channel-keys.js';
import { ApiError } from '../shared/errors.js';
import { hmacSm3 } from '../shared/gm/sm3.js';
import { ok } from '../shared/result.js';
import type { SignaturePool } from '../shared/signature-pool.js';

/**
 * SM2 verifications one channel may have waiting at once: the worker pool is shared, so a flood of
 * forged SM2 calls naming one channel fills only that channel's share (answered 503) and leaves the
 * pool to the others.
 */
const IN_FLIGHT_PER_CHANNEL = 128;

/** Parsed keys held by PEM: parsing (ASN.1, curve checks) on every call would cost more than RSA verifies. */
const PARSED_MAX = 10_000;

/**
 * The channel module's key parser and verifier, over the shared primitives: RSA verifies in line,
 * SM2 on the worker-thread pool (docs/crypto-suites.md#speed).
 */
export function channelKeyCrypto(pool: SignaturePool): {
  parse: KeyParser;
  verifyKey: KeyVerifier;
  hmacSm3: (secret: string, message: Buffer) => string;
} {
  const parsed = new Map<string, ChannelPublicKey>();
  const inFlight = new Map<string, number>();
  const busy = () =>
    new ApiError('service_unavailable', 'Signature checks are backed up; retry shortly.', {
      headers: { 'retry-after': '1' },
    });
  const keyOf = (pem: string): ChannelPublicKey | undefined => {
    const hit = parsed.get(pem);
    if (hit) return hit;
    const r = parseChannelPublicKey(pem);
    if (!r.ok) return undefined;
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(pem, r.value);
    return r.value;
  };
  return {
    parse(text) {
      const r = parseChannelPublicKey(text);
      if (!r.ok) return r;
      return ok({
        algorithm: r.value.algorithm,
        fingerprint: r.value.fingerprint,
        publicKey: r.value.normalisedPem,
      });
    },
    async verifyKey(key, message, signatureB64, channelId) {
      const parsedKey = keyOf(key.publicKey);
      if (!parsedKey) return false;
      // RSA verifies in line in microseconds; only the pool's queue needs shares.
      if (parsedKey.algorithm !== 'SM2-SM3')
        return verifyChannelSignature(parsedKey, message, signatureB64, pool);
      const n = inFlight.get(channelId) ?? 0;
      if (n >= IN_FLIGHT_PER_CHANNEL) throw busy();
      inFlight.set(channelId, n + 1);
      try {
        return await verifyChannelSignature(parsedKey, message, signatureB64, pool);
      } catch {
        // The pool is closing or its queue is full: the caller may retry, the signature is not judged.
        throw busy();
      } finally {
        const left = (inFlight.get(channelId) ?? 1) - 1;
        if (left <= 0) inFlight.delete(channelId);
        else inFlight.set(channelId, left);
      }
    },
    hmacSm3: (secret, message) => hmacSm3(secret, message).toString('hex'),
  };
}
