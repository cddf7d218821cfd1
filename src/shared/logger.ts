import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Keys whose values never reach a log line, at any depth. Matched on the key name so that a field
 * added later (`payout_secret`, `api_token`) is covered without editing a list of paths.
 */
const SECRET_KEY =
  /secret|passw|token|signature|authorization|cookie|api[-_]?key|private|cvv|(^|_)pin$|card_number/i;
const REDACTED = '[redacted]';
const MAX_DEPTH = 8;

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Plain objects and arrays are copied with secret-named keys replaced. Anything else (a request, a
 * reply, an Error) is left to pino's serializers, which pick a few safe fields of their own.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? REDACTED : redactSecrets(v, depth + 1);
  }
  return out;
}

/** `stderr: true` for command-line tools, whose stdout is their answer. */
export function createLogger(level: string, destination?: DestinationStream | { stderr: true }): Logger {
  const stream = destination && 'stderr' in destination ? pino.destination(2) : destination;
  return pino(
    {
      level,
      base: { service: 'recard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redactSecrets(obj) as Record<string, unknown>,
      },
      // Header values are logged by nobody by default; these paths are a second line of defence.
      redact: { paths: ['req.headers.authorization', 'req.headers["x-recard-signature"]'], censor: REDACTED },
    },
    stream,
  );
}
