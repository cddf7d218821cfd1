import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { JOB_STATES, type JobState } from '../jobs/model.js';
import type { JobObserver } from '../jobs/runtime.js';

/** Everything /metrics shows; one registry per process (tests build their own). */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  jobObserver: JobObserver;
  /** Raw issuer codes missing from the issuer's mapping table (the order went to review). */
  issuerUnknownCodes: Counter<'issuer' | 'raw_code'>;
  /** How verifications ended, by issuer. */
  issuerOutcomes: Counter<'issuer' | 'outcome'>;
  /** Routes passed over (breaker open, capacity spent, call failed). */
  routeSkips: Counter<'route' | 'why'>;
  /** Quotes and orders refused by pricing: no_offer, fx_unavailable. */
  pricingRefusals: Counter<'code'>;
  /** Reads of the exchange-rate feed: ok, or why not. */
  fxReads: Counter<'outcome'>;
}

export interface CircuitReading {
  routeId: string;
  issuer: string;
  state: string;
}

export function createMetrics(
  jobCounts: () => Promise<Record<JobState, number>>,
  commits: () => { units: number; commits: number; retried: number } = () => ({
    units: 0,
    commits: 0,
    retried: 0,
  }),
  circuits: () => CircuitReading[] = () => [],
  /** Review cases still waiting, per reason: how many and since when (docs/reviews.md#metrics). */
  reviewsWaiting: () => Promise<
    { reason: string; count: number; oldestCreatedAt: number }[]
  > = async () => [],
  now: () => number = Date.now,
): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'recard_' });
  const httpRequests = new Counter({
    name: 'recard_http_requests_total',
    help: 'HTTP requests answered, by route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'recard_http_request_duration_seconds',
    help: 'Time to answer an HTTP request.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'recard_jobs',
    help: 'Jobs in the database, by state.',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const counts = await jobCounts();
      for (const s of JOB_STATES) this.set({ state: s }, counts[s]);
    },
  });
  new Counter({
    name: 'recard_write_units_total',
    help: 'Units of work committed by request paths (group commit batches many into one transaction on SQLite).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(commits().units);
    },
  });
  new Counter({
    name: 'recard_write_commits_total',
    help: 'Transactions those units were committed in.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(commits().commits);
    },
  });
  new Counter({
    name: 'recard_write_batch_retries_total',
    help: 'SQLite batches run again unit by unit because one unit failed (a repeat or duplicate racing its twin).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(commits().retried);
    },
  });
  const jobRuns = new Counter({
    name: 'recard_job_runs_total',
    help: 'Job runs finished in this process, by kind and outcome.',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'recard_job_run_duration_seconds',
    help: 'Time of one job run.',
    labelNames: ['kind'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const issuerUnknownCodes = new Counter({
    name: 'recard_issuer_unknown_codes_total',
    help: 'Issuer raw codes not in the mapping table; each sent an order to review.',
    labelNames: ['issuer', 'raw_code'] as const,
    registers: [registry],
  });
  const issuerOutcomes = new Counter({
    name: 'recard_issuer_outcomes_total',
    help: 'Verification outcomes by issuer (redeemed, refused, review).',
    labelNames: ['issuer', 'outcome'] as const,
    registers: [registry],
  });
  const routeSkips = new Counter({
    name: 'recard_issuer_route_skips_total',
    help: 'Issuer routes passed over, by reason.',
    labelNames: ['route', 'why'] as const,
    registers: [registry],
  });
  const pricingRefusals = new Counter({
    name: 'recard_pricing_refusals_total',
    help: 'Quotes and orders refused by pricing (no_offer, fx_unavailable).',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const fxReads = new Counter({
    name: 'recard_fx_feed_reads_total',
    help: 'Reads of the exchange-rate feed: ok, timeout, connection, unavailable, malformed.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'recard_issuer_circuit_open',
    help: 'Circuit breaker per issuer route: 0 closed, 0.5 half-open, 1 open.',
    labelNames: ['route', 'issuer'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of circuits())
        this.set(
          { route: c.routeId, issuer: c.issuer },
          c.state === 'open' ? 1 : c.state === 'half_open' ? 0.5 : 0,
        );
    },
  });
  new Gauge({
    name: 'recard_reviews_waiting',
    help: 'Review cases not decided yet, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const w of await reviewsWaiting()) this.set({ reason: w.reason.slice(0, 64) }, w.count);
    },
  });
  new Gauge({
    name: 'recard_review_oldest_age_seconds',
    help: 'How long the oldest review case not decided yet has waited (0 when none waits).',
    registers: [registry],
    async collect() {
      const waiting = await reviewsWaiting();
      const oldest = Math.min(...waiting.map((w) => w.oldestCreatedAt));
      this.set(waiting.length === 0 ? 0 : Math.max(0, (now() - oldest) / 1000));
    },
  });
  return {
    registry,
    issuerUnknownCodes,
    issuerOutcomes,
    routeSkips,
    pricingRefusals,
    fxReads,
    httpRequests,
    httpDuration,
    jobObserver: {
      jobFinished(kind, outcome, durationMs) {
        jobRuns.inc({ kind, outcome });
        jobDuration.observe({ kind }, durationMs / 1000);
      },
    },
  };
}
