import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/shared/logger.js';

/** A real pino logger whose lines are kept for assertions (redaction tests read them). */
export function capturingLogger(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l.length > 0),
      );
      cb();
    },
  });
  return { logger: createLogger(level, sink), lines };
}

export const silentLogger: Logger = createLogger('silent');
