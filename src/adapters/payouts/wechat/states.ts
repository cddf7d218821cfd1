import type { PayoutState } from '../port.js';

/** A transfer bill's `state` → the port's state (docs/payouts.md#state-mapping). */
export function wechatBillState(state: unknown): PayoutState {
  if (state === 'SUCCESS') return 'paid';
  if (state === 'FAIL' || state === 'CANCELLED') return 'failed';
  if (
    state === 'ACCEPTED' ||
    state === 'PROCESSING' ||
    state === 'WAIT_USER_CONFIRM' ||
    state === 'TRANSFERING' ||
    state === 'CANCELING'
  )
    return 'accepted';
  return 'unknown';
}
