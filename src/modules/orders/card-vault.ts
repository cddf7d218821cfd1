import { type Keyring, makeKeyring, open, seal } from '../../shared/crypto.js';
import { randomBytesPooled } from '../../shared/random.js';

/**
 * Envelope encryption of a card (docs/architecture.md#security): a fresh 256-bit data key per order encrypts the number
 * and secret (AES-256-GCM, or SM4 + HMAC-SM3 under the gm suite); the master key wraps the data key. Rotation re-wraps data keys only;
 * destroying the wrapped key destroys the card (crypto-shredding). Both layers bind the order id.
 */
export interface Card {
  number: string;
  secret: string;
}

export interface SealedCard {
  /** The master key that wraps `wrappedKey`: rotation finds what to re-wrap by it. */
  keyId: string;
  wrappedKey: string;
  ciphertext: string;
}

const dekContext = (orderId: string) => `order:${orderId}:dek`;
const cardContext = (orderId: string) => `order:${orderId}:card`;
// The card layer follows the master keyring's suite (AES-256-GCM or SM4 + HMAC-SM3); open reads both.
const dataKeyring = (key: Buffer, master: Keyring) => makeKeyring({ id: 'dek', key }, [], master.suite);

export function sealCard(master: Keyring, orderId: string, card: Card): SealedCard {
  const dataKey = randomBytesPooled(32);
  return {
    keyId: master.active.id,
    wrappedKey: seal(master, dataKey.toString('base64'), dekContext(orderId)),
    ciphertext: seal(
      dataKeyring(dataKey, master),
      JSON.stringify({ number: card.number, secret: card.secret }),
      cardContext(orderId),
    ),
  };
}

/** Throws DecryptionError (never returns garbage) if anything was altered or the key is unknown. */
export function openCard(
  master: Keyring,
  orderId: string,
  sealed: Pick<SealedCard, 'wrappedKey' | 'ciphertext'>,
): Card {
  const dataKey = Buffer.from(open(master, sealed.wrappedKey, dekContext(orderId)), 'base64');
  return JSON.parse(open(dataKeyring(dataKey, master), sealed.ciphertext, cardContext(orderId))) as Card;
}

/** The same data key under the active master key; the card ciphertext is untouched. */
export function rewrapKey(
  master: Keyring,
  orderId: string,
  wrappedKey: string,
): Pick<SealedCard, 'keyId' | 'wrappedKey'> {
  const dataKey = open(master, wrappedKey, dekContext(orderId));
  return { keyId: master.active.id, wrappedKey: seal(master, dataKey, dekContext(orderId)) };
}
