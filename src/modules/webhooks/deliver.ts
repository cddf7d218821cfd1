import type { Transaction } from 'kysely';
import type { OutboundAttempt, OutboundGuard } from '../../adapters/outbound/index.js';
import { DeferJob, JobFailure, type JobHandler, PermanentJobError } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import type { Database } from '../../storage/schema.js';
import type { CallbackProfile, ChannelService } from '../channels/index.js';
import { eventView, type StoredEvent } from '../events/index.js';
import { type CircuitOptions, EndpointCircuits } from './circuit.js';
import { classicBody, classicFields } from './classic.js';
import { type AttemptError, DELIVER, DISABLE_AFTER_FAILING_MS, RETRY_SCHEDULE_MS } from './model.js';
import { webhookHeaders } from './signing.js';
import {
  type AttemptRow,
  disableEndpoint,
  type EndpointRow,
  endpointAnswered,
  endpointFailed,
  failDelivery,
  findDelivery,
  findEndpoint,
  recordDeliveryAttempt,
} from './store.js';

export interface DeliverDeps {
  db: Db;
  committer: Committer;
  channels: ChannelService;
  guard: OutboundGuard;
  clock: Clock;
  userAgent: string;
  /** The event a delivery carries, by its position. */
  eventAt(position: number): Promise<StoredEvent | undefined>;
  /** Writes the admin event that says an endpoint was disabled, in the disabling transaction. */
  endpointDisabled(trx: Transaction<Database>, endpoint: EndpointRow, reason: string): Promise<void>;
  /** Per-endpoint slow cap and circuit (circuit.ts); tests shorten it. */
  circuit?: CircuitOptions;
}

const RESPONSE_HEAD_BYTES = 1024;

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
const SKIPPED =
  'Not sent: the endpoint timed out or refused its last attempts; Recard tries it again at most every 15 s to 5 min.';

export interface Request {
  headers: Record<string, string>;
  body: string;
}

/** The request for one attempt: Standard Webhooks JSON, or the classic form where the channel chose it. */
export function callbackRequest(
  event: StoredEvent,
  profile: CallbackProfile,
  nowMs: number,
  userAgent: string,
): Request {
  const timestamp = Math.floor(nowMs / 1000);
  const common = { 'user-agent': userAgent };
  if (profile.settings.format === 'classic_form') {
    const body = classicBody(
      classicFields(event, timestamp),
      profile.webhookSecrets,
      profile.settings.sign_type,
    );
    return {
      headers: { ...common, 'content-type': 'application/x-www-form-urlencoded', 'webhook-id': event.id },
      body,
    };
  }
  const body = JSON.stringify(eventView(event));
  return {
    headers: {
      ...common,
      'content-type': 'application/json',
      ...webhookHeaders(profile.webhookSecrets, { id: event.id, timestamp, body }),
    },
    body,
  };
}

/** What the answer means under the channel's convention. */
export function judge(
  r: OutboundAttempt,
  ack: CallbackProfile['settings']['ack'],
): { ok: true } | { ok: false; code: AttemptError; message: string } {
  if (!r.ok) return { ok: false, code: r.code, message: r.message };
  if (r.status < 200 || r.status > 299)
    return { ok: false, code: 'http_status', message: `Answered HTTP ${r.status}.` };
  if (ack === 'success_body' && r.body.toString('utf8').trim().toLowerCase() !== 'success')
    return { ok: false, code: 'not_acknowledged', message: 'Answered 2xx without the body `success`.' };
  return { ok: true };
}

/**
 * One attempt at a delivery. A success is recorded in the transaction that completes the job, so a
 * delivery has at most one; a failure is logged and the job retried on RETRY_SCHEDULE_MS until the
 * last attempt, which leaves the delivery `failed` (and resendable).
 */
export function deliverHandler(deps: DeliverDeps): JobHandler<{ delivery_id: string }> {
  const circuits = new EndpointCircuits(deps.circuit);
  return {
    spec: DELIVER,
    async handle({ delivery_id }, ctx) {
      const d = await findDelivery(deps.db, delivery_id);
      if (!d) throw new PermanentJobError(`delivery ${delivery_id} does not exist`);
      if (d.status !== 'pending') return;
      const endpoint = d.endpoint_id === null ? undefined : await findEndpoint(deps.db, d.endpoint_id);
      if (d.endpoint_id !== null && endpoint?.enabled !== 1) {
        await deps.committer.run((trx) => failDelivery(trx, d.id, 'endpoint_disabled', deps.clock.now()));
        return;
      }
      // Asked before anything else is read: a skipped or waiting attempt should cost next to nothing.
      // An endpoint's deliveries go where it points now (a changed URL applies to retries too).
      const url = endpoint ? endpoint.url : d.url;
      // One circuit per endpoint, or per host for order callback URLs (which differ per order).
      const key = d.endpoint_id ?? `host:${hostOf(url)}`;
      const at = deps.clock.now();
      const admission = circuits.admit(key, performance.now());
      if (admission.kind === 'wait') throw new DeferJob(500, 'endpoint is slow and has its share of slots');
      let result: OutboundAttempt | undefined;
      let ack: CallbackProfile['settings']['ack'] = 'any_2xx';
      if (admission.kind === 'send') {
        let outcome: 'none' | 'reached' | 'unreachable' = 'none';
        try {
          const profile = await deps.channels.callbackProfile(d.channel_id);
          if (!profile) throw new PermanentJobError(`channel ${d.channel_id} does not exist`);
          ack = profile.settings.ack;
          const event = await deps.eventAt(d.event_position);
          if (!event) throw new PermanentJobError(`event ${d.event_id} does not exist`);
          // On PostgreSQL an event is numbered just after commit; the callback shows its number.
          if (event.sequence === null) throw new DeferJob(100, 'event not numbered yet');
          const req = callbackRequest(event, profile, at, deps.userAgent);
          outcome = 'unreachable';
          result = await deps.guard.post(url, req.headers, req.body, ctx.signal);
          outcome =
            !result.ok && (result.code === 'timeout' || result.code === 'connection_failed')
              ? 'unreachable'
              : 'reached';
        } finally {
          if (outcome === 'none') circuits.release(key, admission.ticket, admission.probe);
          else
            circuits.done(
              key,
              admission.ticket,
              admission.probe,
              outcome === 'unreachable',
              performance.now(),
            );
        }
      }
      const verdict = result
        ? judge(result, ack)
        : { ok: false as const, code: 'endpoint_unavailable' as const, message: SKIPPED };
      const attempt: AttemptRow = {
        delivery_id: d.id,
        attempt: ctx.attempt,
        at,
        status_code: result?.ok ? result.status : null,
        latency_ms: result?.latencyMs ?? 0,
        error_code: verdict.ok ? null : verdict.code,
        error: verdict.ok ? null : verdict.message,
        response_head: result?.ok ? result.body.subarray(0, RESPONSE_HEAD_BYTES).toString('utf8') : null,
      };
      if (verdict.ok) {
        return async (trx) => {
          await recordDeliveryAttempt(trx, { attempt, status: 'succeeded', nextAttemptAt: null });
          // Only an endpoint that was failing has anything to clear (read at the start of the attempt;
          // one that started failing since is cleared by its next success).
          if (endpoint && endpoint.failing_since !== null) await endpointAnswered(trx, endpoint.id);
        };
      }
      const waitMs = RETRY_SCHEDULE_MS[ctx.attempt - 1];
      const last = waitMs === undefined || ctx.attempt >= ctx.maxAttempts;
      await deps.committer.run(async (trx) => {
        await recordDeliveryAttempt(trx, {
          attempt,
          status: last ? 'failed' : 'pending',
          nextAttemptAt: last ? null : deps.clock.now() + waitMs,
        });
        // The failing period is only started or checked when that can change something.
        if (
          endpoint &&
          (endpoint.failing_since === null || at - endpoint.failing_since >= DISABLE_AFTER_FAILING_MS)
        )
          await noteEndpointFailure(trx, endpoint.id, deps);
      });
      if (!last)
        throw new JobFailure(verdict.code, `delivery attempt ${ctx.attempt} failed: ${verdict.message}`);
    },
    async onDead({ delivery_id }, failure, trx) {
      await failDelivery(trx, delivery_id, failure.code, deps.clock.now());
    },
  };
}

/** Starts or continues an endpoint's failing period; past 3 days of nothing but failures it is disabled. */
async function noteEndpointFailure(trx: Transaction<Database>, id: string, deps: DeliverDeps): Promise<void> {
  const now = deps.clock.now();
  const ep = await endpointFailed(trx, id, now);
  if (ep?.enabled !== 1 || ep.failing_since === null) return;
  if (now - ep.failing_since < DISABLE_AFTER_FAILING_MS) return;
  const reason = `every delivery failed since ${rfc3339(ep.failing_since)}`;
  if (await disableEndpoint(trx, id, reason, now)) {
    await deps.endpointDisabled(trx, { ...ep, enabled: 0, disabled_reason: reason, updated_at: now }, reason);
  }
}
