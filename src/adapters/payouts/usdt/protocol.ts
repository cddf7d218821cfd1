/**
 * The USDT transfer service's JSON-RPC 2.0 vocabulary (docs/payouts.md#usdt), shared by the adapter
 * and the simulator. Amounts are integer micro-USDT (10⁻⁶) as decimal strings.
 */
export const USDT_ERRORS = {
  invalidAddress: 1001,
  requestConflict: 1002,
  insufficientBalance: 1003,
  notFound: 1004,
  blacklisted: 1005,
  unauthorized: -32001,
} as const;

export const USDT_NETWORKS = ['trc20', 'erc20'] as const;
export type UsdtNetwork = (typeof USDT_NETWORKS)[number];

const ADDRESS: Record<UsdtNetwork, RegExp> = {
  trc20: /^T[1-9A-HJ-NP-Za-km-z]{33}$/,
  erc20: /^0x[0-9a-fA-F]{40}$/,
};

/** Format only (base58 alphabet / hex and length): no checksum, which a real node would also check. */
export function validAddress(network: UsdtNetwork, address: string): boolean {
  return ADDRESS[network].test(address);
}
