import type { Transaction } from 'kysely';
import type { KeyringSource } from '../../config/keys.js';
import { canonicalJson } from '../../shared/canonical-json.js';
import type { Clock } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import { type CryptoSuite, cryptoSuite } from '../../shared/suite.js';
import type { Db } from '../../storage/database.js';
import { isUniqueViolation } from '../../storage/errors.js';
import type { Committer } from '../../storage/group-commit.js';
import type { Database } from '../../storage/schema.js';
import { type CardTypeService, checkCard, maskFromLast4, normaliseCardField } from '../cards/index.js';
import { type ChannelView, claimDailyUsage, claimDailyUsageMany } from '../channels/index.js';
import type { PriceRow, PricingService } from '../pricing/index.js';
import { CardFilter } from './card-filter.js';
import { openCard, rewrapKey, sealCard } from './card-vault.js';
import type { CallbackUrlError, OrderError } from './errors.js';
import type {
  IntakeGuard,
  IntakeRefusal,
  IntakeRisk,
  IntakeRiskInput,
  IntakeRiskVerdict,
  IntakeSubjects,
} from './intake-guard.js';
import { INITIAL_STATUS } from './lifecycle.js';
import type { OrderList, OrderListQuery, OrderView, SubmitOrder } from './model.js';
import { amountInLimitCurrency, checkOrderAmount, checkOrderFields } from './policy.js';
import {
  batchCounts,
  batchOrderRows,
  countToRewrap,
  findByMerchantOrderId,
  findOrder,
  forVerification,
  heldCardHashes,
  heldMerchantOrderIds,
  historyOf,
  intakeSubjectsOf,
  isCardHeld,
  listOrders,
  type OrderRow,
  ordersToRewrap,
  outcomeCounts,
  quotesInUse,
  sellerHistory,
  setWrappedKey,
  staleVerifications,
} from './store.js';
import type { OrderTransitions } from './transition.js';
import { orderView } from './view.js';

export interface OrderServiceDeps {
  db: Db;
  committer: Committer;
  clock: Clock;
  cardKeys: KeyringSource;
  cardHashKey: Buffer;
  /** Which keyed hash new orders store (default standard); both are looked for (docs/crypto-suites.md). */
  suite?: CryptoSuite;
  pricing: PricingService;
  /** The card catalogue (cached). */
  cardTypes: Pick<CardTypeService, 'find'>;
  /** The one writer of order state (transition.ts). */
  transitions: OrderTransitions;
  /** Refuses a callback_url that callbacks would never call (outbound rules, the channel's hosts). */
  checkCallbackUrl?: (channel: ChannelView, url: string) => CallbackUrlError | null;
  onJobQueued?: () => void;
  /** Counts every try of a card and refuses locked cards and blocked sellers, devices, IPs (lockouts). */
  guard?: IntakeGuard;
  /** The risk engine's decision at intake (risk). */
  risk?: IntakeRisk;
}

/** `batchId`: the batch the order came in (null for a single order), so a batch knows its own repeats. */
type Submitted = Result<{ order: OrderView; created: boolean; batchId: string | null }, OrderError['code']>;

/** A request's keyed hash, and whether a stored one is of the same request under either suite. */
interface RequestHash {
  value: string;
  matches(stored: string): boolean;
}

type Placed =
  | { kind: 'created'; view: OrderView }
  | { kind: 'limited'; failure: Submitted }
  | { kind: 'existing'; row: OrderRow }
  | { kind: 'duplicate' }
  | { kind: 'refused'; refusal: IntakeRefusal };

type Hold = { event: (typeof HOLD_EVENTS)[keyof typeof HOLD_EVENTS]; reason: string };
type Admitted =
  | Extract<Placed, { kind: 'refused' | 'limited' }>
  | { kind: 'admitted'; hold: Hold | undefined };

/** A card checked and priced, its order row built: what the intake unit writes. */
interface Prepared {
  input: SubmitOrder;
  requestHash: RequestHash;
  attempt: Attempt;
  row: OrderRow;
  price: { row: PriceRow; save: boolean };
  /** The amount the daily caps count (in the caps' currency). */
  amount: number;
  riskInput: IntakeRiskInput;
}

/**
 * What one submission got to: whom it is about once its card number is readable, and whether the
 * guard has counted it yet (the intake unit counts it; a refusal before that unit is counted apart).
 */
interface Attempt {
  subjects?: IntakeSubjects;
  counted: boolean;
}

const alreadySubmitted = () =>
  fail('card_already_submitted', 'This card was already submitted and is being processed or was redeemed.', {
    field: 'card_number',
  });

/**
 * How long a batch slice's checks run before the event loop gets a turn (submitMany). Measured with
 * single orders at 20/s beside a 20,000-line file (bench/batch-singles.ts, decision 0041): no turn,
 * their p99 was 1,352 ms; a turn every 10 lines, 243 ms; every 3 ms, 241 ms; every 1 ms, 181 ms (idle
 * 62 ms), the file alone taking 10.6 s instead of 6.8 s.
 */
const TURN_EVERY_MS = 1;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The lifecycle step of each risk hold at intake. */
const HOLD_EVENTS = { review: 'hold_for_review', freeze: 'freeze', reject: 'reject' } as const;

/** What risk's verdict makes of the order: nothing, or the hold it is placed in. */
const holdOf = (verdict: IntakeRiskVerdict | undefined): Hold | undefined =>
  verdict && verdict.action !== 'allow'
    ? { event: HOLD_EVENTS[verdict.action], reason: verdict.reason }
    : undefined;

const FORMAT_ERRORS = {
  card_number: 'invalid_card_number',
  card_secret: 'invalid_card_secret',
} as const;

export function createOrderService(deps: OrderServiceDeps) {
  const { db, committer, clock, cardHashKey } = deps;
  const filter = new CardFilter();
  const suite = deps.suite ?? cryptoSuite('standard');
  // Every suite's hash of a text, this suite's first (the one stored): a card or request stored
  // before a suite switch is still recognised after it (decision 0027).
  const keyedHashes = (text: string) => suite.keyedHashes.map((h) => h(cardHashKey, text));
  const requestHashOf = (text: string): RequestHash => {
    const value = suite.keyedHash(cardHashKey, text);
    return {
      value,
      matches: (stored) =>
        stored === value || suite.keyedHashes.slice(1).some((h) => h(cardHashKey, text) === stored),
    };
  };

  const priceOf = async (row: OrderRow) =>
    row.price_id ? await deps.pricing.find(db, row.price_id) : undefined;

  /** The first answer to a merchant_order_id, or a conflict if this body differs from the first. */
  async function replay(row: OrderRow, requestHash: RequestHash): Promise<Submitted> {
    if (!requestHash.matches(row.request_hash)) {
      return fail(
        'idempotency_conflict',
        'This merchant_order_id was used with a different request; use a new id for a new card.',
        { field: 'merchant_order_id' },
      );
    }
    return ok({ order: orderView(row, await priceOf(row)), created: false, batchId: row.batch_id });
  }

  /**
   * The intake unit's checks for one prepared card, in order: the guard counts the try, the daily
   * caps, risk last (what it counts and records commits with the order, docs/risk.md). No look-ups:
   * the unique indexes are the truth about repeats and duplicates.
   */
  async function admitIn(trx: Transaction<Database>, channel: ChannelView, p: Prepared): Promise<Admitted> {
    const { guard, risk } = deps;
    const { row, attempt } = p;
    const subjects = attempt.subjects;
    // The try is counted first, in this unit: a rolled-back unit has not counted it.
    if (guard && subjects) {
      const refusal = await guard.admit(trx, subjects, row.created_at);
      if (refusal) return { kind: 'refused', refusal };
    }
    // Then the daily caps, before the order is written; a unit rolled back later (a duplicate)
    // takes its count back with it.
    const limited = await claimDailyUsage(trx, channel, p.amount, row.created_at);
    if (limited) return { kind: 'limited', failure: limited };
    const verdict = risk ? await risk.assessIntake(trx, p.riskInput, row.created_at) : undefined;
    return { kind: 'admitted', hold: holdOf(verdict) };
  }

  /** The intake unit of one card: its checks, then its price and the order. */
  async function placeIn(trx: Transaction<Database>, channel: ChannelView, p: Prepared): Promise<Placed> {
    const admitted = await admitIn(trx, channel, p);
    if (admitted.kind !== 'admitted') return admitted;
    if (p.price.save) await deps.pricing.save(trx, p.price.row);
    return { kind: 'created', view: await deps.transitions.place(trx, p.row, p.price.row, admitted.hold) };
  }

  /**
   * The intake unit of many distinct cards (a batch file's slice), each checked as `admitIn` would
   * check it one after the other, but a check at a time for the whole slice (the guard for every
   * card, then the caps for those it let through, then risk): a few statements per check instead of
   * a few per card. Then the prices and orders of those admitted, in few statements.
   */
  async function placeManyIn(
    trx: Transaction<Database>,
    channel: ChannelView,
    cards: readonly Prepared[],
  ): Promise<Placed[]> {
    const { guard, risk } = deps;
    const placed: (Placed | undefined)[] = new Array(cards.length);
    let open = cards.map((p, k) => ({ k, p }));
    if (guard) {
      const counted = open.filter((o) => o.p.attempt.subjects);
      const refusals = await guard.admitMany(
        trx,
        counted.map((o) => ({ subjects: o.p.attempt.subjects as IntakeSubjects, nowMs: o.p.row.created_at })),
      );
      for (const [i, o] of counted.entries()) {
        const refusal = refusals[i];
        if (refusal) placed[o.k] = { kind: 'refused', refusal };
      }
      open = open.filter((o) => !placed[o.k]);
    }
    const limits = await claimDailyUsageMany(
      trx,
      channel,
      open.map((o) => ({ amount: o.p.amount, nowMs: o.p.row.created_at })),
    );
    for (const [i, o] of open.entries()) {
      const failure = limits[i];
      if (failure) placed[o.k] = { kind: 'limited', failure };
    }
    open = open.filter((o) => !placed[o.k]);
    const verdicts = risk
      ? await risk.assessIntakeMany(
          trx,
          open.map((o) => ({ input: o.p.riskInput, nowMs: o.p.row.created_at })),
        )
      : [];
    const go = open.map((o, i) => ({ ...o, hold: holdOf(verdicts[i]) }));
    await deps.pricing.saveMany(
      trx,
      go.flatMap((g) => (g.p.price.save ? [g.p.price.row] : [])),
    );
    const views = await deps.transitions.placeMany(
      trx,
      go.map((g) => ({ order: g.p.row, price: g.p.price.row, hold: g.hold })),
    );
    for (const [i, g] of go.entries()) placed[g.k] = { kind: 'created', view: views[i] as OrderView };
    return placed as Placed[];
  }

  /** One card in its own unit; a unique index broken by another process's commit is answered from it. */
  async function place(channel: ChannelView, p: Prepared): Promise<Placed> {
    try {
      const placed = await committer.run((trx) => placeIn(trx, channel, p));
      if (deps.guard && p.attempt.subjects) p.attempt.counted = true;
      return placed;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Another process committed the same merchant_order_id or card first: answer from what it wrote.
      const existing = await findByMerchantOrderId(db, p.row.channel_id, p.row.merchant_order_id);
      if (existing) return { kind: 'existing', row: existing };
      if (await isCardHeld(db, p.row.card_hash)) return { kind: 'duplicate' };
      throw err;
    }
  }

  /** The answer to a placed card (a refusal of the unit, a repeat, or the new order). */
  async function answer(channel: ChannelView, p: Prepared, placed: Placed): Promise<Submitted> {
    if (placed.kind === 'refused') return placed.refusal;
    if (placed.kind === 'limited') return placed.failure;
    if (placed.kind === 'duplicate') return duplicateOf(channel, p.input, p.requestHash);
    if (placed.kind === 'existing') return replay(placed.row, p.requestHash);
    filter.add(p.row.card_hash);
    return ok({ order: placed.view, created: true, batchId: p.row.batch_id });
  }

  /** A held card: this very request's twin (committed since the first look) is replayed, else refused. */
  async function duplicateOf(
    channel: ChannelView,
    input: SubmitOrder,
    requestHash: RequestHash,
  ): Promise<Submitted> {
    const twin = await findByMerchantOrderId(db, channel.id, input.merchant_order_id);
    if (twin) return replay(twin, requestHash);
    return alreadySubmitted();
  }

  /**
   * Checks and prices a new card and builds its order row: everything intake does before its unit.
   * Every refusal is a value (submit looks for a repeat then).
   */
  async function prepare(
    channel: ChannelView,
    input: SubmitOrder,
    requestHash: RequestHash,
    attempt: Attempt,
    batchId: string | null,
  ): Promise<Result<Prepared, OrderError['code']>> {
    const missing = checkOrderFields(channel, input);
    if (missing) return missing;
    const type = await deps.cardTypes.find(input.card_type);
    if (type?.enabled !== 1) {
      return fail(
        'unsupported_card_type',
        `Card type ${input.card_type} is not accepted; see GET /v1/card-types.`,
        {
          field: 'card_type',
        },
      );
    }
    const card = checkCard(
      {
        number_pattern: type.number_pattern,
        secret_pattern: type.secret_pattern,
        checksum: type.checksum,
      },
      input.card_number,
      input.card_secret,
    );
    // Readable: the number matches its type (a wrong secret format is a try of that number). Its
    // hashes are made once: the lockout counts the first, the duplicate check looks for each.
    let cardHashes: string[] = [];
    if (card.ok || card.field === 'card_secret') {
      const number = card.ok ? card.number : normaliseCardField(input.card_number);
      cardHashes = keyedHashes(`${type.code}:${number}`);
      attempt.subjects = {
        cardHash: cardHashes[0] ?? '',
        cardLabel: `${type.code} ${maskFromLast4(number.slice(-4), number.length)}`,
        channelId: channel.id,
        sellerId: input.seller.id,
        deviceId: input.device_id ?? null,
        clientIp: input.client_ip?.toLowerCase() ?? null,
      };
    }
    if (!card.ok) {
      const what = card.field === 'card_number' ? 'card number' : 'card secret';
      const why =
        card.reason === 'checksum'
          ? 'its check digit is wrong'
          : `it does not match the format of ${type.name}`;
      return fail(FORMAT_ERRORS[card.field], `The ${what} is not valid: ${why}.`, {
        field: card.field,
      });
    }
    const faces = JSON.parse(type.face_values) as number[];
    if (!faces.includes(input.declared_face_value)) {
      return fail(
        'unsupported_face_value',
        `${type.name} is accepted at face values ${faces.join(', ')} (minor units), not ${input.declared_face_value}.`,
        { field: 'declared_face_value' },
      );
    }
    if (input.callback_url !== undefined && deps.checkCallbackUrl) {
      const refused = deps.checkCallbackUrl(channel, input.callback_url);
      if (refused) return refused;
    }
    const cardHash = cardHashes[0] ?? '';
    // A repeat of this very request is answered by the refusal's look for its merchant_order_id.
    for (const h of cardHashes)
      if (filter.mightContain(h) && (await isCardHeld(db, h))) return alreadySubmitted();

    const now = clock.now();
    const id = newId('ord', now);
    const priced = await deps.pricing.forIntake(
      channel,
      type,
      input.declared_face_value,
      input.quote_id,
      id,
      now,
    );
    if (!priced.ok) return priced;
    const price = priced.value;
    const amount = amountInLimitCurrency(channel, type.currency, input.declared_face_value, price.row);
    const outOfRange = checkOrderAmount(channel, amount);
    if (outOfRange) return outOfRange;
    const sealed = sealCard(deps.cardKeys.current(), id, card);
    const row: OrderRow = {
      id,
      channel_id: channel.id,
      merchant_order_id: input.merchant_order_id,
      request_hash: requestHash.value,
      card_type: type.code,
      card_hash: cardHash,
      card_last4: card.number.slice(-4),
      card_number_length: card.number.length,
      card_key_id: sealed.keyId,
      card_wrapped_key: sealed.wrappedKey,
      card_ciphertext: sealed.ciphertext,
      declared_face_value: input.declared_face_value,
      currency: type.currency,
      status: INITIAL_STATUS,
      seller_id: input.seller.id,
      seller_name: input.seller.name ?? null,
      callback_url: input.callback_url ?? null,
      attach: input.attach ?? null,
      client_ip: input.client_ip ?? null,
      device_id: input.device_id ?? null,
      user_id: input.user_id ?? null,
      user_registered_at: input.user_registered_at ? Date.parse(input.user_registered_at) : null,
      created_at: now,
      updated_at: now,
      issuer: type.issuer,
      route_id: null,
      actual_face_value: null,
      reason: null,
      raw_code: null,
      redemption_id: null,
      redeem_state: 'none',
      waiting_for: null,
      verified_at: null,
      price_id: price.row.id,
      quote_id: input.quote_id ?? null,
      platform_order_id: input.platform_order_id ?? null,
      store_terminal_id: input.store_terminal_id ?? null,
      blockchain_address: input.blockchain_address ?? null,
      approved_at: null,
      batch_id: batchId,
    };
    const riskInput: IntakeRiskInput = {
      orderId: id,
      channelId: channel.id,
      sellerId: input.seller.id,
      cardType: type.code,
      cardHashes,
      cardLabel: attempt.subjects?.cardLabel ?? type.code,
      faceValue: input.declared_face_value,
      currency: type.currency,
      deviceId: input.device_id ?? null,
      clientIp: input.client_ip ?? null,
      destination: input.blockchain_address ?? null,
      userRegisteredAt: row.user_registered_at,
      sellerPhone: input.seller.phone ?? null,
      batchId,
    };
    return ok({
      input,
      requestHash,
      attempt,
      row,
      price,
      amount: amount ?? input.declared_face_value,
      riskInput,
    });
  }

  /** A refusal before (or instead of) the intake unit: a repeat's first answer, else the refusal counted as a try. */
  async function refused(
    channel: ChannelView,
    p: { input: SubmitOrder; requestHash: RequestHash; attempt: Attempt },
    taken: Submitted,
  ): Promise<Submitted> {
    const earlier = await findByMerchantOrderId(db, channel.id, p.input.merchant_order_id);
    if (earlier) return replay(earlier, p.requestHash);
    // A lock outranks the refusal.
    const { guard } = deps;
    const subjects = p.attempt.subjects;
    if (!guard || !subjects || p.attempt.counted) return taken;
    const refusal = await committer.run((trx) => guard.admit(trx, subjects, clock.now()));
    return refusal ?? taken;
  }

  /** A submission's request hash and try, and its card prepared (or the refusal). */
  async function begin(channel: ChannelView, input: SubmitOrder, batchId: string | null) {
    const requestHash = requestHashOf(canonicalJson(input));
    const attempt: Attempt = { counted: false };
    const prepared = await prepare(channel, input, requestHash, attempt, batchId);
    return { input, requestHash, attempt, prepared };
  }

  async function submitOne(
    channel: ChannelView,
    input: SubmitOrder,
    batchId: string | null,
  ): Promise<Submitted> {
    const begun = await begin(channel, input, batchId);
    const { prepared } = begun;
    const taken = prepared.ok
      ? await answer(channel, prepared.value, await place(channel, prepared.value))
      : prepared;
    if (taken.ok) {
      if (taken.value.created) deps.onJobQueued?.();
      return taken;
    }
    return refused(channel, begun, taken);
  }

  return {
    /** Loads the duplicate filter from every order that holds its card. Call once at start. */
    async init(): Promise<number> {
      let n = 0;
      for await (const hash of heldCardHashes(db)) {
        filter.add(hash);
        n++;
      }
      return n;
    },

    /**
     * A repeated merchant_order_id gets the first answer (or a conflict). A new one, the common case,
     * is not looked up first: the unique index finds a repeat that got this far, and a refusal looks
     * for an earlier order before it is answered, so a repeat never sees today's rules.
     */
    submit: (channel: ChannelView, input: SubmitOrder, from?: { batchId: string }): Promise<Submitted> =>
      submitOne(channel, input, from?.batchId ?? null),

    /**
     * Many cards of one channel (a batch file's slice), each answered as `submit` would, in the order
     * given. The cards that pass the checks are placed in one unit, one after the other, so a slice
     * costs one transaction and later cards see what earlier ones counted. A repeat, a card twice in
     * the slice, or a unit broken by another process's commit falls back to `submit`, card by card.
     */
    async submitMany(
      channel: ChannelView,
      inputs: readonly SubmitOrder[],
      from?: { batchId: string },
    ): Promise<Submitted[]> {
      const batchId = from?.batchId ?? null;
      const answers: (Submitted | undefined)[] = new Array(inputs.length);
      const ready: { k: number; p: Prepared }[] = [];
      let turnAt = performance.now();
      for (const [k, input] of inputs.entries()) {
        // A line's checks answer from SQLite at once, in microtasks: without a turn of the event loop
        // now and then, a slice would hold every request of the process until it is done.
        if (performance.now() - turnAt >= TURN_EVERY_MS) {
          await nextTurn();
          turnAt = performance.now();
        }
        const begun = await begin(channel, input, batchId);
        if (begun.prepared.ok) ready.push({ k, p: begun.prepared.value });
        else answers[k] = await refused(channel, begun, begun.prepared);
      }
      const known = await heldMerchantOrderIds(
        db,
        channel.id,
        ready.map((r) => r.p.input.merchant_order_id),
      );
      const cards = new Set<string>();
      const together: typeof ready = [];
      const alone: number[] = [];
      for (const r of ready) {
        if (known.has(r.p.input.merchant_order_id) || cards.has(r.p.row.card_hash)) alone.push(r.k);
        else {
          cards.add(r.p.row.card_hash);
          together.push(r);
        }
      }
      let placed: Placed[] | undefined;
      if (together.length > 0)
        try {
          placed = await committer.runBulk((trx) =>
            placeManyIn(
              trx,
              channel,
              together.map((r) => r.p),
            ),
          );
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          alone.push(...together.map((r) => r.k));
        }
      if (placed) {
        for (const [i, r] of together.entries()) {
          const p = placed[i] as Placed;
          if (deps.guard && r.p.attempt.subjects) r.p.attempt.counted = true;
          const taken = await answer(channel, r.p, p);
          answers[r.k] = taken.ok ? taken : await refused(channel, r.p, taken);
        }
        deps.onJobQueued?.();
      }
      alone.sort((a, b) => a - b);
      for (const k of alone) answers[k] = await submitOne(channel, inputs[k] as SubmitOrder, batchId);
      return answers as Submitted[];
    },

    /** Whom an order is about (lockouts count the issuer's "wrong secret" against these). */
    intakeSubjects: async (from: Db, orderId: string): Promise<IntakeSubjects | undefined> => {
      const r = await intakeSubjectsOf(from, orderId);
      return (
        r && {
          cardHash: r.card_hash,
          cardLabel: `${r.card_type} ${maskFromLast4(r.card_last4, r.card_number_length)}`,
          channelId: r.channel_id,
          sellerId: r.seller_id,
          deviceId: r.device_id,
          clientIp: r.client_ip?.toLowerCase() ?? null,
        }
      );
    },

    /**
     * A channel sees only its own orders: another channel's id is "not found". With `sellerId` (the
     * h5 seller page), only that seller's.
     */
    async get(
      channel: ChannelView,
      id: string,
      sellerId?: string,
    ): Promise<Result<OrderView, 'resource_not_found'>> {
      const row = await findOrder(db, channel.id, id, sellerId);
      if (!row) return fail('resource_not_found', `No order ${id}.`, { field: 'id' });
      return ok(orderView(row, await priceOf(row)));
    },

    async list(channel: ChannelView, q: OrderListQuery, sellerId?: string): Promise<OrderList> {
      const rows = await listOrders(db, channel.id, {
        ...q,
        ...(sellerId !== undefined ? { sellerId } : {}),
        ...(q.created_from ? { createdFromMs: Date.parse(q.created_from) } : {}),
        ...(q.created_to ? { createdToMs: Date.parse(q.created_to) } : {}),
      });
      const page = rows.slice(0, q.limit);
      const prices = await deps.pricing.findMany(
        db,
        page.flatMap((r) => (r.price_id ? [r.price_id] : [])),
      );
      return {
        data: page.map((r) => orderView(r, r.price_id ? prices.get(r.price_id) : undefined)),
        next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null,
      };
    },

    /**
     * What a reviewer reads of an order (docs/reviews.md): the order as shown (masked number only),
     * whose it is, and its `order_events` rows. Any channel's: the admin API sees them all.
     */
    async forReview(from: Db, orderId: string) {
      const row = await from.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
      if (!row) return undefined;
      const price = row.price_id ? await deps.pricing.find(from, row.price_id) : undefined;
      return {
        view: orderView(row, price),
        channelId: row.channel_id,
        sellerId: row.seller_id,
        approvedAt: row.approved_at,
        history: await historyOf(from, orderId),
      };
    },
    /** A seller's orders on a channel by status (counts, declared amounts) and the latest `recent`. */
    sellerHistory: (from: Db, channelId: string, sellerId: string, recent = 10) =>
      sellerHistory(from, channelId, sellerId, recent),

    /** Every change of an order's state goes through these (transition.ts). */
    change: deps.transitions.change,

    /** What the verify worker reads of an order at each pass. */
    forVerification: (from: Db, orderId: string) => forVerification(from, orderId),
    /** Orders left in submitted/verifying since `beforeMs` (the sweeper's look). */
    staleVerifications: (beforeMs: number, limit: number) => staleVerifications(db, beforeMs, limit),
    /** Verification outcomes per card type since `sinceMs` (automatic price adjustment reads them). */
    outcomeCounts: (from: Db, sinceMs: number) => outcomeCounts(from, sinceMs),
    /** Which quotes orders settled at (pricing keeps those when it prunes). */
    quotesInUse: (from: Db, ids: readonly string[]) => quotesInUse(from, ids),

    /** A batch's orders by status: counts and face-value sums (batches' progress). */
    batchCounts: (from: Db, batchId: string) => batchCounts(from, batchId),

    /** A batch's orders of these ids as shown, with their prices (a page of batches' report). */
    async batchOrders(from: Db, batchId: string, ids: readonly string[]): Promise<OrderView[]> {
      const rows = await batchOrderRows(from, batchId, ids);
      const prices = await deps.pricing.findMany(
        from,
        rows.flatMap((r) => (r.price_id ? [r.price_id] : [])),
      );
      return rows.map((r) => orderView(r, r.price_id ? prices.get(r.price_id) : undefined));
    },

    /** Orders with their prices, by id, for `recard ledger check` (every order, a page at a time). */
    async forAudit(from: Db, afterId: string, limit: number) {
      const rows = await from
        .selectFrom('orders')
        .selectAll()
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
      const prices = await deps.pricing.findMany(
        from,
        rows.flatMap((r) => (r.price_id ? [r.price_id] : [])),
      );
      return rows.map((r) => ({
        view: orderView(r, r.price_id ? prices.get(r.price_id) : undefined),
        channelId: r.channel_id,
      }));
    },

    /**
     * Crypto-shredding (docs/ledger.md#shredding): deletes the wrapped data key of cards whose order
     * was paid before `paidBeforeMs`. The ciphertext stays unreadable; the duplicate hash stays.
     * `dryRun` counts what it would remove.
     */
    async shredPaidCards(paidBeforeMs: number, dryRun: boolean, limit = 10_000): Promise<number> {
      const q = db
        .selectFrom('orders')
        .select('id')
        .where('status', '=', 'paid')
        .where('updated_at', '<', paidBeforeMs)
        .where('card_wrapped_key', 'is not', null)
        .limit(limit);
      const ids = (await q.execute()).map((r) => r.id);
      if (dryRun || ids.length === 0) return ids.length;
      const r = await db
        .updateTable('orders')
        .set({ card_wrapped_key: null })
        .where('id', 'in', ids)
        .where('status', '=', 'paid')
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    /** The card in clear, for the issuer gateway only. Throws DecryptionError if it was altered. */
    async revealCard(orderId: string) {
      const row = await db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
      return row && this.openStoredCard(row);
    },

    /** As revealCard, from columns already read (the verify worker reads them with the order). */
    openStoredCard(row: { id: string; card_wrapped_key: string | null; card_ciphertext: string | null }) {
      if (!row.card_wrapped_key || !row.card_ciphertext) return undefined;
      return openCard(deps.cardKeys.current(), row.id, {
        wrappedKey: row.card_wrapped_key,
        ciphertext: row.card_ciphertext,
      });
    },

    /**
     * Re-wraps every data key not under the active master key, in batches; card ciphertexts are not
     * touched. Safe while the service runs: each row is updated only if nobody changed it meanwhile.
     */
    async rewrapAll(batchSize = 500): Promise<number> {
      let total = 0;
      // Bounded by what needed re-wrapping at the start (twice over, for rows raced by a writer).
      const rounds =
        2 * Math.ceil((await countToRewrap(db, deps.cardKeys.current().active.id)) / batchSize) + 2;
      for (let round = 0; round < rounds; round++) {
        const ring = deps.cardKeys.current();
        const rows = await ordersToRewrap(db, ring.active.id, batchSize);
        if (rows.length === 0) return total;
        for (const r of rows) {
          if (!r.card_wrapped_key) continue;
          const next = rewrapKey(ring, r.id, r.card_wrapped_key);
          if (await setWrappedKey(db, r.id, r.card_wrapped_key, next.keyId, next.wrappedKey)) total++;
        }
      }
      throw new Error(`card keys still to re-wrap after ${rounds} rounds: run the rotation again`);
    },
  };
}

export type OrderService = ReturnType<typeof createOrderService>;
