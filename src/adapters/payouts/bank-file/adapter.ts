import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { createAgent } from '../../issuers/http.js';
import {
  DEFAULT_TIMEOUT_MS,
  deadline,
  isRecord,
  type PayoutAdapter,
  parseJson,
  send,
  unknown,
} from '../http.js';
import type { LookupState, PayoutAnswer } from '../port.js';
import { refuseBeforeSending } from '../preflight.js';
import { FILE_NAME, OUTGOING_HEADER, outgoingName, RETURN_HEADER } from './format.js';

export interface BankFileAdapterOptions {
  /** The bank's file drop, e.g. https://files.bank.example */
  endpoint: string;
  timeoutMs?: number;
}

export const BANK_ADAPTER_CODES = {
  received: 'FILE_RECEIVED',
  awaitingReturn: 'AWAITING_RETURN_FILE',
  noFile: 'NO_SUCH_FILE',
  nameTaken: 'FILE_NAME_TAKEN',
  refusedFile: 'FILE_REFUSED',
  unfit: 'REFERENCE_UNFIT',
  malformed: 'ANSWER_MALFORMED',
} as const;

/**
 * A bank's batch files over its HTTP file drop. `pay` uploads a one-line outgoing file named after the
 * payout id and answers `accepted`; the bank pays at its next processing run and publishes a return
 * file for it, which `lookup` reads. The bank dedupes by reference as a second guard.
 */
export function createBankFileAdapter(options: BankFileAdapterOptions): PayoutAdapter {
  const agent = createAgent(8);
  const base = options.endpoint.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return {
    name: 'bank_file',
    kinds: ['bank_card'],
    async pay(payoutId, destination, amount, signal): Promise<PayoutAnswer> {
      const refused = refuseBeforeSending('bank_card', 'CNY', destination, amount);
      if (refused) return refused;
      if (!FILE_NAME.test(payoutId)) return { state: 'failed', rawCode: BANK_ADAPTER_CODES.unfit };
      const name = outgoingName(payoutId);
      const body = stringify([
        [...OUTGOING_HEADER],
        [payoutId, destination.account, destination.holderName, String(amount.amount), amount.currency],
      ]);
      const sent = await send(agent, {
        method: 'PUT',
        url: `${base}/files/outgoing/${name}.csv`,
        headers: { 'content-type': 'text/csv' },
        body,
        signal: deadline(timeoutMs, signal),
      });
      if (!sent.ok) return sent.answer;
      const { status, text } = sent.res;
      // 409: another file already has this name, so this id's fate is that file's: look it up.
      if (status === 409) return unknown(BANK_ADAPTER_CODES.nameTaken);
      if (status === 400)
        return { state: 'failed', rawCode: BANK_ADAPTER_CODES.refusedFile, rawMessage: text.slice(0, 200) };
      if (status !== 200 && status !== 201) return unknown(`HTTP_${status}`);
      // The receipt must name this file and its digest: anything else is not proof it arrived whole.
      const receipt = parseJson(text);
      const digest = createHash('sha256').update(body).digest('hex');
      if (!isRecord(receipt) || receipt.file !== `${name}.csv` || receipt.sha256 !== digest)
        return unknown(BANK_ADAPTER_CODES.malformed, 'no receipt for this file');
      return { state: 'accepted', rawCode: BANK_ADAPTER_CODES.received };
    },
    async lookup(payoutId, signal): Promise<PayoutAnswer<LookupState>> {
      if (!FILE_NAME.test(payoutId)) return { state: 'not_found', rawCode: BANK_ADAPTER_CODES.unfit };
      const name = outgoingName(payoutId);
      const sig = deadline(timeoutMs, signal);
      const ret = await send(agent, { method: 'GET', url: `${base}/files/returns/${name}.csv`, signal: sig });
      if (!ret.ok) return ret.answer;
      if (ret.res.status === 404) {
        const out = await send(agent, {
          method: 'GET',
          url: `${base}/files/outgoing/${name}.csv`,
          signal: sig,
        });
        if (!out.ok) return out.answer;
        if (out.res.status === 200) return { state: 'accepted', rawCode: BANK_ADAPTER_CODES.awaitingReturn };
        if (out.res.status === 404) return { state: 'not_found', rawCode: BANK_ADAPTER_CODES.noFile };
        return unknown(`HTTP_${out.res.status}`);
      }
      if (ret.res.status !== 200) return unknown(`HTTP_${ret.res.status}`);
      let rows: string[][];
      try {
        rows = parse(ret.res.text, { relax_column_count: false, skip_empty_lines: true }) as string[][];
      } catch {
        return unknown(BANK_ADAPTER_CODES.malformed, 'return file is not CSV');
      }
      const [head, ...lines] = rows;
      const row = lines.find((r) => r[0] === payoutId);
      if (head?.join(',') !== RETURN_HEADER.join(',') || !row)
        return unknown(BANK_ADAPTER_CODES.malformed, 'return file does not mention the payout');
      const [, status, bankRef, reason] = row;
      const ref = bankRef ? { providerRef: bankRef } : {};
      if (status === 'PAID')
        return { state: 'paid', rawCode: 'PAID', ...ref, ...(reason ? { rawMessage: reason } : {}) };
      if (status === 'REJECTED') return { state: 'failed', rawCode: reason || 'REJECTED', ...ref };
      return unknown(status ?? BANK_ADAPTER_CODES.malformed);
    },
    close: () => agent.close(),
  };
}
