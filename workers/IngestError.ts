export type IngestFailureReason =
  | 'unauthorized'
  | 'locked_out'
  | 'busy'
  | 'not_found'
  | 'timeout'
  | 'unreachable'
  | 'unsupported_codec'
  | 'stalled'
  | 'exited'
  | 'spawn_failed';

/** Why an ingest run ended. The message is already free of credentials. */
export class IngestError extends Error {
  constructor(
    readonly reason: IngestFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}
