import { generateKeyPairSync } from 'node:crypto';

/** An RSA 2048 key pair in PEM, made at simulator start (node cannot derive one from a seed). */
export interface RsaPair {
  publicKey: string;
  privateKey: string;
}

export function rsaPair(): RsaPair {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/**
 * The key a simulator signs its answers with: the platform's, or, while `tamper` is on, a stray
 * one, so the adapter sees an answer whose signature does not verify.
 */
export function answerSigner(platform: RsaPair): { key(): string; tamper(on: boolean): void } {
  let stray: RsaPair | undefined;
  let tampering = false;
  return {
    key() {
      if (!tampering) return platform.privateKey;
      stray ??= rsaPair();
      return stray.privateKey;
    },
    tamper(on) {
      tampering = on;
    },
  };
}
