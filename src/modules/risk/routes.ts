import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { stringify } from 'csv-stringify/sync';
import { callerOf, readBefore } from '../../http/admin-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import { safeCell } from '../../shared/csv-cell.js';
import {
  AssessmentView,
  BLACKLIST_KINDS,
  DECISIONS,
  REPORT_KINDS,
  RULE_IDS,
  RULE_MODES,
  STAGES,
} from './model.js';
import type { ReportView, RiskService } from './service.js';

const Time = Type.String({ format: 'date-time' });
const RuleView = Type.Object({
  id: Type.Union(RULE_IDS.map((r) => Type.Literal(r))),
  summary: Type.String(),
  stage: Type.Union(STAGES.map((s) => Type.Literal(s))),
  decision: Type.Union(
    DECISIONS.map((d) => Type.Literal(d)),
    { description: 'what the rule decides when it fires' },
  ),
  enabled: Type.Boolean(),
  mode: Type.Union(
    RULE_MODES.map((m) => Type.Literal(m)),
    { description: '`shadow`: recorded on the order, not enforced' },
  ),
  params: Type.Unknown({ description: "the rule's thresholds (docs/risk.md#rules)" }),
  version: Type.Integer({ description: '0 until first changed; send it back to change the rule' }),
  updated_at: Type.Union([Time, Type.Null()]),
  updated_by: Type.Union([Type.String(), Type.Null()]),
});
const RuleChange = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    mode: Type.Optional(Type.Union(RULE_MODES.map((m) => Type.Literal(m)))),
    params: Type.Optional(
      Type.Object({}, { additionalProperties: true, description: "the rule's thresholds, whole" }),
    ),
    version: Type.Optional(
      Type.Integer({ minimum: 0, description: 'the version read: refused with 409 if it changed since' }),
    ),
  },
  { additionalProperties: false },
);
const RuleParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const BlacklistEntry = Type.Object({
  id: Type.String({ examples: ['blk_01m82bdkm43j64m14csvx1b6m1'] }),
  kind: Type.Union(BLACKLIST_KINDS.map((k) => Type.Literal(k))),
  label: Type.String({ description: 'for people: a masked card number, a seller id, an IP' }),
  reason: Type.String(),
  created_by: Type.String(),
  created_at: Time,
});
const NewBlacklistEntry = Type.Object(
  {
    kind: Type.Union(BLACKLIST_KINDS.map((k) => Type.Literal(k))),
    value: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'the seller id, device id, IP address or payout destination; kept as a keyed hash only',
      }),
    ),
    card_number: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'for a card: its number, kept as a keyed hash only (the audit log redacts it)',
      }),
    ),
    card_type: Type.Optional(Type.String({ maxLength: 64, description: 'for a card' })),
    channel_id: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'for a seller or a device: both are named within a channel',
      }),
    ),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
const ReportsQuery = Type.Object(
  {
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    kind: Type.Optional(Type.Union(REPORT_KINDS.map((k) => Type.Literal(k)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  },
  { additionalProperties: false },
);
const Report = Type.Object({
  id: Type.String({ examples: ['sar_01m82bdkm43j64m14csvx1b6m1'] }),
  created_at: Time,
  kind: Type.Union(REPORT_KINDS.map((k) => Type.Literal(k))),
  order_id: Type.String(),
  channel_id: Type.String(),
  seller_id: Type.String(),
  amount: Type.Integer({ description: 'face value, minor units' }),
  currency: Type.String(),
  evidence: Type.Unknown({
    description: 'the rules that fired and their figures, the masked card; never a secret',
  }),
});

const CSV_COLUMNS = [
  'id',
  'created_at',
  'kind',
  'order_id',
  'channel_id',
  'seller_id',
  'amount',
  'currency',
  'rules',
  'reasons',
];

/** One report per row; a spreadsheet opens it (UTF-8 with a BOM, formulas defused). */
export function reportsCsv(reports: ReportView[]): string {
  const rows = reports.map((r) => {
    const ev = r.evidence as { rules?: { rule: string; reasons: string[] }[] };
    return [
      r.id,
      r.created_at,
      r.kind,
      r.order_id,
      r.channel_id,
      safeCell(r.seller_id),
      r.amount,
      r.currency,
      (ev.rules ?? []).map((f) => f.rule).join(' '),
      safeCell((ev.rules ?? []).flatMap((f) => f.reasons).join('; ')),
    ];
  });
  return `\uFEFF${stringify(rows, { header: true, columns: CSV_COLUMNS })}`;
}

/** /admin/v1/risk: the rules, the blacklists, and the suspicious-activity reports (docs/risk.md). */
export function riskAdminRoutes(service: RiskService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: risk'];
    app.get(
      '/admin/v1/risk/rules',
      {
        schema: {
          operationId: 'adminListRiskRules',
          tags,
          summary: 'The risk rules and their settings',
          response: {
            200: answer(Type.Object({ data: Type.Array(RuleView) }), 'Every rule.'),
            ...errorResponses(401),
          },
        },
      },
      async () => service.listRules(),
    );
    app.put(
      '/admin/v1/risk/rules/:id',
      {
        schema: {
          operationId: 'adminPutRiskRule',
          tags,
          summary: 'Change a rule: on or off, enforced or shadow, its thresholds',
          description:
            'Audited with before and after. `params` is checked against the rule; missing thresholds take their defaults. Send the `version` read to avoid overwriting a concurrent change.',
          params: RuleParams,
          body: RuleChange,
          response: {
            200: answer(RuleView, 'The rule as it now runs.'),
            ...errorResponses(400, 401, 404, 409),
          },
        },
        config: { auditBefore: readBefore((p: { id: string }) => service.getRule(p.id)) },
      },
      async (request) => unwrap(await service.updateRule(request.params.id, request.body, callerOf(request))),
    );
    app.get(
      '/admin/v1/risk/blacklist',
      {
        schema: {
          operationId: 'adminListBlacklist',
          tags,
          summary: 'Blacklisted cards, sellers, devices, IPs and destinations',
          querystring: Type.Object(
            { kind: Type.Optional(Type.Union(BLACKLIST_KINDS.map((k) => Type.Literal(k)))) },
            { additionalProperties: false },
          ),
          response: {
            200: answer(Type.Object({ data: Type.Array(BlacklistEntry) }), 'The entries.'),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) => service.listBlacklist(request.query.kind),
    );
    app.post(
      '/admin/v1/risk/blacklist',
      {
        schema: {
          operationId: 'adminAddToBlacklist',
          tags,
          summary: 'Blacklist a card, seller, device, IP or payout destination',
          description:
            'A match rejects the order at intake; a blacklisted card also files a suspicious-activity report. The value is kept as a keyed hash only (the audit log redacts a card number).',
          body: NewBlacklistEntry,
          response: { 201: answer(BlacklistEntry, 'The entry.'), ...errorResponses(400, 401, 409) },
        },
      },
      async (request, reply) => {
        const entry = unwrap(await service.addToBlacklist(request.body, callerOf(request)));
        return reply.code(201).send(entry);
      },
    );
    app.delete(
      '/admin/v1/risk/blacklist/:id',
      {
        schema: {
          operationId: 'adminRemoveFromBlacklist',
          tags,
          summary: 'Take an entry off the blacklist',
          params: RuleParams,
          response: {
            200: answer(Type.Object({ id: Type.String(), removed: Type.Literal(true) }), 'Removed.'),
            ...errorResponses(400, 401, 404),
          },
        },
        config: { auditBefore: readBefore((p: { id: string }) => service.getBlacklisted(p.id)) },
      },
      async (request) => unwrap(await service.removeFromBlacklist(request.params.id)),
    );
    app.get(
      '/admin/v1/risk/orders/:id/assessments',
      {
        schema: {
          operationId: 'adminListOrderAssessments',
          tags,
          summary: 'What the risk engine decided about an order, and every rule that fired',
          params: RuleParams,
          response: {
            200: answer(Type.Object({ data: Type.Array(AssessmentView) }), 'Oldest first.'),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) => ({ data: await service.assessments(request.params.id) }),
    );
    app.get(
      '/admin/v1/risk/reports',
      {
        schema: {
          operationId: 'adminExportRiskReports',
          tags,
          summary: 'Export suspicious-activity reports as JSON',
          description: 'Oldest first. Every export is on the audit log with who asked and for what.',
          querystring: ReportsQuery,
          response: {
            200: answer(Type.Object({ data: Type.Array(Report) }), 'The reports.'),
            ...errorResponses(400, 401),
          },
        },
        config: { auditRead: true },
      },
      async (request) => ({ data: await service.reports(request.query) }),
    );
    app.get(
      '/admin/v1/risk/reports.csv',
      {
        schema: {
          operationId: 'adminExportRiskReportsCsv',
          tags,
          summary: 'Export suspicious-activity reports as CSV',
          description: `One report per row (${CSV_COLUMNS.join(', ')}); UTF-8 with a byte-order mark so that spreadsheets read it as such. Audited like the JSON export.`,
          querystring: ReportsQuery,
          produces: ['text/csv'],
          response: {
            200: answer({ type: 'string' } as never, 'The reports as CSV.'),
            ...errorResponses(400, 401),
          },
        },
        config: { auditRead: true },
      },
      async (request, reply) =>
        reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="suspicious-activity-reports.csv"')
          .send(reportsCsv(await service.reports(request.query))),
    );
  };
}
