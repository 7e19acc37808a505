import { pino, type Logger, type LoggerOptions } from 'pino';
import { redact } from '../../workers/common/redact.ts';

export type { Logger };

export interface LoggerSettings {
  level: string;
  /** JSON lines in production; readable lines otherwise. */
  pretty: boolean;
  /** Where lines go instead of stdout (tests capture them). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: undefined,
    // Last line of defence: no URL credentials in any message, whoever logged it.
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? redact(arg) : arg)) as Parameters<typeof method>,
        );
      },
    },
    redact: { paths: ['password', '*.password', 'url', '*.url', 'token', '*.token'], censor: '***' },
  };
  if (settings.destination) return pino(options, settings.destination as pino.DestinationStream);
  if (settings.pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino(options);
}
