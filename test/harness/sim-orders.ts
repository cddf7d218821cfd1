import { expect } from 'vitest';
import type { RecardClient } from '../../src/client/client.js';
import type { OrderView } from '../../src/modules/orders/index.js';
import type { SimCard, SimCardLabel } from '../../src/simulators/card-base.js';
import type { SimulatorSet } from '../../src/simulators/index.js';
import { waitFor } from './wait.js';

/** Hands out cards of a simulated base, each once per run. */
export function cardTaker(sims: () => SimulatorSet) {
  const used = new Set<string>();
  return (cardType: string, label: SimCardLabel): SimCard => {
    const card = sims().cards.find(
      (c) => c.cardType === cardType && c.label === label && !used.has(c.number),
    );
    if (!card) throw new Error(`no ${label} ${cardType} card left`);
    used.add(card.number);
    return card;
  };
}

/** The body of `POST /v1/orders` that hands a simulated card in for `sellerId`. */
export function simOrderBody(card: SimCard, merchantOrderId: string, sellerId = 'seller-1') {
  return {
    merchant_order_id: merchantOrderId,
    card_type: card.cardType,
    card_number: card.number,
    card_secret: card.secret,
    declared_face_value: card.declaredFaceValue,
    seller: { id: sellerId },
  };
}

/** Submits a simulated card as a channel would; expects 201 and returns the order id. */
export async function submitCard(
  client: RecardClient,
  card: SimCard,
  merchantOrderId: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await client.post<OrderView>('/v1/orders', {
    ...simOrderBody(card, merchantOrderId),
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** What counts as having reached a status: a redeemed card is booked (settled) and paid on its own. */
const REACHED: Record<string, string[]> = {
  redeemed: ['redeemed', 'settled', 'paid'],
  settled: ['settled', 'paid'],
};

/** Waits until the order has left submitted/verifying (or reached `status` when given) and returns it. */
export function settledOrder(client: RecardClient, id: string, status?: string, timeoutMs = 15_000) {
  return waitFor(
    async () => {
      const o = (await client.get<OrderView>(`/v1/orders/${id}`)).body;
      const done = status
        ? (REACHED[status] ?? [status]).includes(o.status)
        : o.status !== 'submitted' && o.status !== 'verifying';
      return done ? o : undefined;
    },
    timeoutMs,
    `order ${id} to settle`,
  );
}
