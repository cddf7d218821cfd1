import { type AlipayAdapterOptions, createAlipayAdapter } from './alipay/adapter.js';
import { type BankFileAdapterOptions, createBankFileAdapter } from './bank-file/adapter.js';
import type { PayoutAdapter } from './http.js';
import { createUsdtAdapter, type UsdtAdapterOptions } from './usdt/adapter.js';
import { createWechatAdapter, type WechatAdapterOptions } from './wechat/adapter.js';

export type { PayoutAdapter } from './http.js';

export const PAYOUT_PROVIDERS = ['alipay', 'wechat', 'bank_file', 'usdt'] as const;
export type PayoutProviderName = (typeof PAYOUT_PROVIDERS)[number];

/** One provider's settings, named by `provider`. Keys are PEM strings; never logged. */
export type PayoutProviderConfig =
  | ({ provider: 'alipay' } & AlipayAdapterOptions)
  | ({ provider: 'wechat' } & WechatAdapterOptions)
  | ({ provider: 'bank_file' } & BankFileAdapterOptions)
  | ({ provider: 'usdt' } & UsdtAdapterOptions);

/** The one place that knows every payout protocol: a new provider is a folder and a line here. */
export function createPayoutProvider(config: PayoutProviderConfig): PayoutAdapter {
  switch (config.provider) {
    case 'alipay':
      return createAlipayAdapter(config);
    case 'wechat':
      return createWechatAdapter(config);
    case 'bank_file':
      return createBankFileAdapter(config);
    case 'usdt':
      return createUsdtAdapter(config);
  }
}
