import type { RtspErrorCode } from './rtsp/RtspError.ts';

export type IngestFailureReason =
  | 'unauthorized'
  | 'locked_out'
  | 'busy'
  | 'not_found'
  | 'timeout'
  | 'unreachable'
  | 'unsupported_codec'
  /** The stream is not the codec the camera's SDP names (and could not be taken from the stream). */
  | 'codec_mismatch'
  | 'stalled'
  | 'exited'
  | 'spawn_failed';

/** What an RTSP refusal means for an ingest run (our RTSP client's codes, workers/rtsp/RtspError.ts). */
export const RTSP_FAILURE_REASONS: Record<RtspErrorCode, IngestFailureReason> = {
  unauthorized: 'unauthorized',
  locked_out: 'locked_out',
  busy: 'busy',
  not_found: 'not_found',
  timeout: 'timeout',
  unreachable: 'unreachable',
  redirect_loop: 'unreachable',
  tls_mismatch: 'unreachable',
  protocol_error: 'unreachable',
  unsupported: 'unsupported_codec',
  closed: 'exited',
  // A pinned camera's refused redirect (or address): unreachable from here, and backed off like any
  // unreachable camera (only while viewers wait or it is always on); a retry costs the camera one
  // DESCRIBE at its pinned address, never a connection to the refused one.
  address_refused: 'unreachable',
};

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
