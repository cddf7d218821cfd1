import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { amountOf, createAgent, httpCall, statusError } from '../http.js';
import {
  type CallOptions,
  type Inquiry,
  type IssuerAdapter,
  IssuerCallError,
  type IssuerCard,
  type LookupResult,
} from '../port.js';

export interface BatchFileAdapterOptions {
  /** The issuer's file drop, e.g. https://files.supermarket.example */
  endpoint: string;
  /** How long a downloaded state file is trusted before asking for a newer one. */
  stateCacheMs?: number;
}

/** Raw codes the adapter itself produces (the rest are the files' own words). */
export const BATCH_CODES = {
  notInFile: 'NOT_IN_STATE_FILE',
  claimReceived: 'CLAIM_RECEIVED',
  claimQueued: 'CLAIM_QUEUED',
  claimUnknown: 'CLAIM_NOT_FOUND',
  applied: 'APPLIED',
  awaitingStateFile: 'AWAITING_STATE_FILE',
} as const;

interface StateRow {
  status: string;
  faceValue?: number;
  balance?: number;
  expiresOn: string;
  redemptionId: string;
}
interface StateFile {
  name: string;
  rows: Map<string, StateRow>;
  fetchedAt: number;
}
const STATE_HEADER = ['card_no', 'status', 'face_value', 'balance', 'expire_date', 'redemption_id'];

/**
 * Daily batch files (supermarket style), over the issuer's HTTP file drop. Inquiry reads the latest
 * state file; redeem uploads a claim file named after the redemption id (re-uploading it is
 * harmless) and answers `pending`; lookup reads the claim's result file and confirms only when a
 * state file shows the card used by this redemption.
 */
export function createBatchFileAdapter(options: BatchFileAdapterOptions): IssuerAdapter {
  const agent = createAgent(8);
  const base = options.endpoint.replace(/\/+$/, '');
  const cacheMs = options.stateCacheMs ?? 1000;
  let state: StateFile | undefined;
  let refreshing: Promise<StateFile> | undefined;

  function csv(text: string, what: string): string[][] {
    try {
      return parse(text, { relax_column_count: false, skip_empty_lines: true }) as string[][];
    } catch (err) {
      throw new IssuerCallError('malformed', `${what} is not valid CSV: ${(err as Error).message}`);
    }
  }

  async function fetchState(signal?: AbortSignal): Promise<StateFile> {
    const res = await httpCall(agent, {
      method: 'GET',
      url: `${base}/files/states/latest.csv`,
      headers: state ? { 'if-none-match': `"${state.name}"` } : {},
      signal,
    });
    if (res.status === 304 && state) return { ...state, fetchedAt: Date.now() };
    if (res.status !== 200) throw statusError(res.status, 'state file');
    const name = String(res.headers['x-file-name'] ?? '');
    const records = csv(res.text, 'state file');
    const [header, ...rows] = records;
    if (!name || header?.join(',') !== STATE_HEADER.join(','))
      throw new IssuerCallError('malformed', 'state file has no name or a wrong header');
    const map = new Map<string, StateRow>();
    for (const [cardNo, status, face, balance, expire, rid] of rows) {
      if (!cardNo || !status) throw new IssuerCallError('malformed', 'state file row without card or status');
      const faceValue = amountOf(face, 'face_value');
      const bal = amountOf(balance, 'balance');
      map.set(cardNo, {
        status,
        ...(faceValue !== undefined ? { faceValue } : {}),
        ...(bal !== undefined ? { balance: bal } : {}),
        expiresOn: expire ?? '',
        redemptionId: rid ?? '',
      });
    }
    return { name, rows: map, fetchedAt: Date.now() };
  }

  /** The latest state file, downloaded at most once per cacheMs however many calls ask. */
  async function latestState(signal?: AbortSignal, fresh = false): Promise<StateFile> {
    if (!fresh && state && Date.now() - state.fetchedAt < cacheMs) return state;
    refreshing ??= fetchState(signal).finally(() => {
      refreshing = undefined;
    });
    state = await refreshing;
    return state;
  }

  const claimName = (redemptionId: string) => {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(redemptionId))
      throw new IssuerCallError('rejected', 'redemption id unfit for a file name');
    return encodeURIComponent(redemptionId);
  };

  return {
    protocol: 'batch_file',
    async inquire(card: IssuerCard, opts?: CallOptions): Promise<Inquiry> {
      const file = await latestState(opts?.signal);
      const row = file.rows.get(card.number);
      if (!row) return { rawCode: BATCH_CODES.notInFile, rawMessage: `not in ${file.name}` };
      return {
        rawCode: row.status,
        rawMessage: `as of ${file.name}`,
        ...(row.faceValue !== undefined ? { faceValue: row.faceValue } : {}),
        ...(row.balance !== undefined ? { balance: row.balance } : {}),
        ...(row.expiresOn ? { expiresOn: row.expiresOn } : {}),
      };
    },
    async redeem(card, redemptionId, opts) {
      const body = stringify([
        ['redemption_id', 'card_no', 'card_pwd'],
        [redemptionId, card.number, card.secret],
      ]);
      const res = await httpCall(agent, {
        method: 'PUT',
        url: `${base}/files/claims/${claimName(redemptionId)}.csv`,
        headers: { 'content-type': 'text/csv' },
        body,
        signal: opts?.signal,
      });
      if (res.status !== 201 && res.status !== 200) throw statusError(res.status, 'claim upload');
      return { outcome: 'pending', rawCode: BATCH_CODES.claimReceived };
    },
    async lookup(redemptionId, card, opts): Promise<LookupResult> {
      const name = claimName(redemptionId);
      const result = await httpCall(agent, {
        method: 'GET',
        url: `${base}/files/claims/${name}.result.csv`,
        signal: opts?.signal,
      });
      if (result.status === 404) {
        const claim = await httpCall(agent, {
          method: 'GET',
          url: `${base}/files/claims/${name}.csv`,
          signal: opts?.signal,
        });
        if (claim.status === 200) return { state: 'pending', rawCode: BATCH_CODES.claimQueued };
        if (claim.status === 404) return { state: 'not_redeemed', rawCode: BATCH_CODES.claimUnknown };
        throw statusError(claim.status, 'claim file');
      }
      if (result.status !== 200) throw statusError(result.status, 'claim result file');
      const row = csv(result.text, 'claim result file').find((r) => r[0] === redemptionId);
      if (!row?.[1]) throw new IssuerCallError('malformed', 'claim result file does not mention the claim');
      if (row[1] !== BATCH_CODES.applied) return { state: 'not_redeemed', rawCode: row[1] };
      // Applied by the issuer; confirmed only once a state file shows the card used by this claim.
      const file = await latestState(opts?.signal, true);
      const cardRow = file.rows.get(card.number);
      if (cardRow?.redemptionId === redemptionId) {
        return {
          state: 'redeemed',
          rawCode: cardRow.status,
          ...(cardRow.faceValue !== undefined ? { amount: cardRow.faceValue } : {}),
        };
      }
      return { state: 'pending', rawCode: BATCH_CODES.awaitingStateFile };
    },
    close: () => agent.close(),
  };
}
