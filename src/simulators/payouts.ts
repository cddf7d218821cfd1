import type { PayoutProviderConfig, PayoutProviderName } from '../adapters/payouts/registry.js';
import type { FaultSettings } from './faults.js';
import { type AlipaySimulator, startAlipaySimulator } from './payout-alipay.js';
import { type BankSimulator, startBankSimulator } from './payout-bank.js';
import { startUsdtSimulator, type UsdtSimulator } from './payout-usdt.js';
import { startWechatSimulator, type WechatSimulator } from './payout-wechat.js';

export interface StartPayoutSimulatorsOptions {
  faults?: Partial<FaultSettings>;
  host?: string;
  /** First port; alipay, wechat, bank_file, usdt take consecutive ports. 0 or absent: random ports. */
  basePort?: number;
  /** Where the WeChat simulator posts its notifications. */
  wechatNotifyUrl?: string;
  /** When WeChat settles a bill: at once (in its answer), on POST /__sim/settle, or after ms. */
  wechatSettle?: 'immediate' | 'manual' | number;
  /** Bank processing period (0: only on POST /__sim/publish). */
  bankPublishEveryMs?: number;
  /** Chain block period (0: only on POST /__sim/mine). */
  usdtConfirmIntervalMs?: number;
}

export interface PayoutSimulatorSet {
  alipay: AlipaySimulator;
  wechat: WechatSimulator;
  bank: BankSimulator;
  usdt: UsdtSimulator;
  /** What `createPayoutProvider` needs for each simulator (URLs, generated keys). */
  configs: Record<PayoutProviderName, PayoutProviderConfig>;
  close(): Promise<void>;
}

/** Starts the four simulated payout providers. */
export async function startPayoutSimulators(
  options: StartPayoutSimulatorsOptions = {},
): Promise<PayoutSimulatorSet> {
  const port = (i: number) => (options.basePort ? options.basePort + i : 0);
  const common = {
    ...(options.faults ? { faults: options.faults } : {}),
    ...(options.host ? { host: options.host } : {}),
  };
  const started: { close(): Promise<void> }[] = [];
  const track = <T extends { close(): Promise<void> }>(s: T): T => {
    started.push(s);
    return s;
  };
  const close = async () => {
    await Promise.all(started.map((s) => s.close()));
  };
  try {
    const alipay = track(await startAlipaySimulator({ ...common, port: port(0) }));
    const wechat = track(
      await startWechatSimulator({
        ...common,
        port: port(1),
        ...(options.wechatNotifyUrl ? { notifyUrl: options.wechatNotifyUrl } : {}),
        ...(options.wechatSettle !== undefined ? { settle: options.wechatSettle } : {}),
      }),
    );
    const bank = track(
      await startBankSimulator({ ...common, port: port(2), publishEveryMs: options.bankPublishEveryMs ?? 0 }),
    );
    const usdt = track(
      await startUsdtSimulator({
        ...common,
        port: port(3),
        confirmIntervalMs: options.usdtConfirmIntervalMs ?? 0,
      }),
    );
    return {
      alipay,
      wechat,
      bank,
      usdt,
      configs: {
        alipay: { provider: 'alipay', ...alipay.adapterConfig },
        wechat: {
          provider: 'wechat',
          ...wechat.adapterConfig,
          ...(options.wechatNotifyUrl ? { notifyUrl: options.wechatNotifyUrl } : {}),
        },
        bank_file: { provider: 'bank_file', endpoint: bank.url },
        usdt: { provider: 'usdt', ...usdt.adapterConfig },
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
