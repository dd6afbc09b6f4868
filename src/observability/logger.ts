/** JSON logging (pino). Secrets never go in: tokens appear by id only; passwords and row values never. */
import { type Logger, pino } from 'pino';

export type { Logger };

/** Builds the process logger; `destination` lets tests and the demo capture or silence output. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'airlock' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['password', 'secret', '*.password', '*.secret', 'token.secret', 'upstream.password'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination(1),
  );
}
