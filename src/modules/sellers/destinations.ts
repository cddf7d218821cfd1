import type { DestinationKind } from '../../adapters/payouts/port.js';

/**
 * Payout destination formats, pure (docs/settlement.md#payout-destinations). A wrong one is refused
 * when it is registered, not when money is sent to it.
 */
const PHONE = /^1[3-9][0-9]{9}$/;
const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$/;
const OPENID = /^[A-Za-z0-9_-]{28}$/;
const BANK_CARD = /^[0-9]{16,19}$/;
const TRC20 = /^T[1-9A-HJ-NP-Za-km-z]{33}$/;
const ERC20 = /^0x[0-9a-fA-F]{40}$/;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export type DestinationCheck =
  | { ok: true; account: string; network: 'trc20' | 'erc20' | null }
  | { ok: false; field: 'account' | 'network'; message: string };

/** Checks (and normalises) an account of a kind: spaces in a bank card number are dropped. */
export function checkDestination(kind: DestinationKind, account: string, network?: string): DestinationCheck {
  const a = account.trim();
  switch (kind) {
    case 'alipay':
      return PHONE.test(a) || EMAIL.test(a)
        ? { ok: true, account: a, network: null }
        : {
            ok: false,
            field: 'account',
            message: 'An Alipay account is a mainland mobile number or an e-mail address.',
          };
    case 'wechat':
      return OPENID.test(a)
        ? { ok: true, account: a, network: null }
        : { ok: false, field: 'account', message: 'A WeChat openid is 28 letters, digits, - or _.' };
    case 'bank_card': {
      const digits = a.replace(/[\s-]/g, '');
      if (!BANK_CARD.test(digits))
        return { ok: false, field: 'account', message: 'A bank card number is 16 to 19 digits.' };
      if (!luhnValid(digits))
        return { ok: false, field: 'account', message: 'The bank card number fails its check digit (Luhn).' };
      return { ok: true, account: digits, network: null };
    }
    case 'usdt': {
      const net = network ?? (TRC20.test(a) ? 'trc20' : ERC20.test(a) ? 'erc20' : undefined);
      if (net !== 'trc20' && net !== 'erc20')
        return {
          ok: false,
          field: network ? 'network' : 'account',
          message: 'A USDT address is TRC20 (T…, 34 characters) or ERC20 (0x + 40 hex digits).',
        };
      const valid = net === 'trc20' ? TRC20.test(a) : ERC20.test(a);
      return valid
        ? { ok: true, account: a, network: net }
        : { ok: false, field: 'account', message: `Not a ${net.toUpperCase()} address.` };
    }
  }
}

/** What a destination is shown as: never the whole account. */
export function maskAccount(kind: DestinationKind, account: string): string {
  if (kind === 'usdt') return `${account.slice(0, 6)}…${account.slice(-4)}`;
  if (kind === 'alipay' && account.includes('@')) {
    const [user = '', host = ''] = account.split('@');
    return `${user.slice(0, 2)}***@${host}`;
  }
  return `${'*'.repeat(Math.max(0, account.length - 4))}${account.slice(-4)}`;
}

/** Names compare as people write them: case and inner spacing do not make another person. */
export function sameName(a: string, b: string): boolean {
  const norm = (s: string) => s.normalize('NFKC').replace(/\s+/g, ' ').trim().toLowerCase();
  return norm(a) === norm(b);
}

/** The currency a destination kind is paid in. */
export function currencyOf(kind: DestinationKind): string {
  return kind === 'usdt' ? 'USDT' : 'CNY';
}
