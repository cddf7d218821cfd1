import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  createPayoutProvider,
  PAYOUT_PROVIDERS,
  type PayoutAdapter,
  type PayoutProviderConfig,
} from '../adapters/payouts/registry.js';
import type { NotificationKeys } from '../adapters/payouts/wechat/adapter.js';

/**
 * RECARD_PAYOUT_PROVIDERS_FILE: `{"providers":[{"provider":"alipay",…},…],"wechat_notification":
 * {"apiV3Key":"…","maxSkewS":300}}`. Each provider entry is the adapter's own settings
 * (docs/payouts.md#configuration). A file that does not parse, or names an unknown provider, stops
 * the start: paying through a half-configured provider is worse than not paying.
 */
const ProvidersFile = Type.Object({
  providers: Type.Array(Type.Object({ provider: Type.Union(PAYOUT_PROVIDERS.map((p) => Type.Literal(p))) }), {
    maxItems: 20,
  }),
  wechat_notification: Type.Optional(
    Type.Object({
      apiV3Key: Type.String({ minLength: 32, maxLength: 32 }),
      maxSkewS: Type.Integer({ minimum: 1, maximum: 3600, default: 300 }),
      platformSerialNo: Type.Optional(Type.String({ minLength: 1 })),
    }),
  ),
});

export function loadPayoutProviders(path: string): {
  providers: PayoutAdapter[];
  wechatNotification?: NotificationKeys;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`RECARD_PAYOUT_PROVIDERS_FILE ${path}: ${(err as Error).message}`);
  }
  if (!Value.Check(ProvidersFile, parsed)) {
    const first = [...Value.Errors(ProvidersFile, parsed)][0];
    throw new Error(
      `RECARD_PAYOUT_PROVIDERS_FILE ${path}: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`,
    );
  }
  const file = parsed as {
    providers: PayoutProviderConfig[];
    wechat_notification?: NotificationKeys & { platformPublicKey?: string };
  };
  const providers = file.providers.map((c) => createPayoutProvider(c));
  const wechat = file.providers.find((p) => p.provider === 'wechat') as
    | { platformPublicKey?: string }
    | undefined;
  if (file.wechat_notification && wechat?.platformPublicKey)
    return {
      providers,
      wechatNotification: { ...file.wechat_notification, platformPublicKey: wechat.platformPublicKey },
    };
  return { providers };
}
