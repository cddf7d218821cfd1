import { sm2PublicKeyFromBytes, sm2VerifyDer } from './gm/sm2.js';

/**
 * The job of one pool thread (signature-pool.ts): an SM2 verification. Inputs are plain bytes so
 * they cross the thread boundary by structured clone; the point is validated again here (cheap)
 * rather than trusted.
 */
export interface Sm2VerifyTask {
  point: Uint8Array;
  message: Uint8Array;
  der: Uint8Array;
}

export default function verifySm2(task: Sm2VerifyTask): boolean {
  return sm2VerifyDer(sm2PublicKeyFromBytes(task.point), task.message, task.der);
}
