import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../server/logging/createLogger.ts';

/** A logger whose JSON lines are kept in memory, for asserting on what was logged. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger;

  constructor(level = 'debug') {
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        callback();
      },
    });
    this.logger = createLogger({ level, pretty: false, destination: stream });
  }

  get text(): string {
    return this.lines.join('\n');
  }
}
