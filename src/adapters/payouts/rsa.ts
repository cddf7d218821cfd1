import { createSign, createVerify } from 'node:crypto';

/** RSA-SHA256 (Alipay "RSA2", WeChat Pay "SHA256-RSA2048"), PKCS#1 v1.5, base64. Keys are PEM. */
export function rsaSign(privateKeyPem: string, message: string): string {
  return createSign('RSA-SHA256').update(message, 'utf8').sign(privateKeyPem, 'base64');
}

/** False for a bad signature and for a signature that is not even base64: never throws. */
export function rsaVerify(publicKeyPem: string, message: string, signature: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(message, 'utf8').verify(publicKeyPem, signature, 'base64');
  } catch {
    return false;
  }
}
