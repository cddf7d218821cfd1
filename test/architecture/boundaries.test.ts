import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The module rules, checked over the source: a module is reached only through its `index.ts`, and
 * only its owner reads or writes a table. Adding a table means naming its owner here.
 */
const SRC = resolve(import.meta.dirname, '../../src');

const OWNER: Record<string, string> = {
  channels: 'channels',
  request_nonces: 'channels',
  channel_groups: 'channels',
  channel_keys: 'channels',
  oauth_keys: 'channels',
  channel_daily_usage: 'channels',
  card_types: 'cards',
  orders: 'orders',
  order_events: 'orders',
  lockout_counters: 'lockouts',
  lockouts: 'lockouts',
  risk_seller_links: 'risk',
  risk_seller_outcomes: 'risk',
  risk_rings: 'risk',
  risk_ring_members: 'risk',
  events: 'events',
  event_sequence: 'events',
  issuer_routes: 'verification',
  issuer_codes: 'verification',
  rate_sheets: 'pricing',
  rate_ranges: 'pricing',
  rate_adjustment_policies: 'pricing',
  rate_adjustments: 'pricing',
  fx_rates: 'pricing',
  prices: 'pricing',
  callback_tests: 'webhooks',
  webhook_endpoints: 'webhooks',
  webhook_deliveries: 'webhooks',
  webhook_attempts: 'webhooks',
  ledger_accounts: 'ledger',
  ledger_transfers: 'ledger',
  sellers: 'sellers',
  payout_destinations: 'sellers',
  seller_accounts: 'sellers',
  seller_sessions: 'sellers',
  settlement_items: 'settlement',
  settlement_batches: 'settlement',
  payouts: 'settlement',
  idempotency_keys: 'idempotency',
  admin_users: 'admins',
  admin_sessions: 'admins',
  admin_audit: 'admins',
  risk_rules: 'risk',
  risk_assessments: 'risk',
  risk_blacklist: 'risk',
  risk_reports: 'risk',
  risk_seller_profiles: 'risk',
  risk_step_ups: 'risk',
  risk_counters: 'risk',
  risk_moments: 'risk',
  reviews: 'reviews',
  batches: 'batches',
  batch_lines: 'batches',
  // Infrastructure, not a module: the job runtime's own table.
  jobs: 'jobs',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** `modules/orders/store.ts` → 'orders'; `jobs/store.ts` → 'jobs'; `main/cli.ts` → 'main'. */
function areaOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts[0] === 'modules' ? (parts[1] ?? '') : (parts[0] ?? '');
}

function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) if (m[1]) found.push(m[1]);
  return found;
}

function tablesTouched(text: string): string[] {
  const found = new Set<string>();
  const builder =
    /(?:selectFrom|updateTable|insertInto|deleteFrom|innerJoin|leftJoin|rightJoin|preparedInsert|with)\(\s*'([a-z_]+)/g;
  for (const m of text.matchAll(builder)) if (m[1] && m[1] in OWNER) found.add(m[1]);
  // Raw SQL: a table name after from / into / update / join inside a template.
  for (const m of text.matchAll(/`[^`]*`/g))
    for (const t of m[0].matchAll(/\b(?:from|into|update|join)\s+"?([a-z_]+)"?/gi))
      if (t[1] && t[1] in OWNER) found.add(t[1]);
  return [...found];
}

const files = sourceFiles(SRC).filter((f) => !relative(SRC, f).startsWith('storage/migrations/'));

describe('module boundaries', () => {
  it('finds the modules it guards', () => {
    const modules = new Set(files.filter((f) => relative(SRC, f).startsWith('modules/')).map(areaOf));
    expect([...modules].sort()).toEqual([
      'admins',
      'batches',
      'cards',
      'channels',
      'events',
      'filedrop',
      'idempotency',
      'ledger',
      'lockouts',
      'orders',
      'pricing',
      'reviews',
      'risk',
      'sellers',
      'settlement',
      'verification',
      'webhooks',
    ]);
  });

  it('a module is imported from outside only through its index.ts', () => {
    const breaches: string[] = [];
    for (const file of files) {
      const from = areaOf(file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        const rel = relative(SRC, target).split('/');
        if (rel[0] !== 'modules') continue;
        const module = rel[1];
        if (module === from && relative(SRC, file).startsWith('modules/')) continue;
        if (rel[2] !== 'index.ts') breaches.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
      }
    }
    expect(breaches).toEqual([]);
  });

  it("no code queries another module's tables", () => {
    const breaches: string[] = [];
    for (const file of files) {
      const area = areaOf(file);
      for (const table of tablesTouched(readFileSync(file, 'utf8'))) {
        if (OWNER[table] !== area)
          breaches.push(`${relative(SRC, file)} touches ${table} (owned by ${OWNER[table]})`);
      }
    }
    expect(breaches).toEqual([]);
  });

  it('modules return expected failures as values: no module code throws an ApiError or sets a header', () => {
    const breaches: string[] = [];
    for (const file of files.filter((f) => relative(SRC, f).startsWith('modules/'))) {
      const text = readFileSync(file, 'utf8');
      if (/\bApiError\b/.test(text)) breaches.push(`${relative(SRC, file)} uses ApiError`);
      if (!file.endsWith('routes.ts') && /retry-after|reply\.header|www-authenticate/i.test(text))
        breaches.push(`${relative(SRC, file)} sets an HTTP header`);
    }
    expect(breaches).toEqual([]);
  });

  it('the checks see a breach when there is one', () => {
    expect(tablesTouched("db.selectFrom('orders').innerJoin('channels', 'a', 'b')")).toEqual([
      'orders',
      'channels',
    ]);
    expect(tablesTouched('sql`update orders set x = 1`')).toEqual(['orders']);
    expect(importsOf("import { x } from '../orders/store.js';")).toEqual(['../orders/store.js']);
  });

  it('every table of the schema has an owner', () => {
    const schema = readFileSync(join(SRC, 'storage/schema.ts'), 'utf8');
    const block = schema.slice(schema.indexOf('export interface Database {'));
    const tables = [...block.matchAll(/^\s+([a-z_]+): [A-Za-z]+Table;/gm)].map((m) => m[1]);
    expect(tables.length).toBeGreaterThan(10);
    for (const t of tables) expect(OWNER, `table ${t}`).toHaveProperty(t as string);
  });
});
