/**
 * Why an RTSP exchange with a camera failed, as a stable code:
 * - `unreachable`: no connection, refused, reset, or the connection closed mid-exchange.
 * - `timeout`: no complete answer within the time allowed (slow or trickling cameras included).
 * - `unauthorized`: the camera refused our credentials (401 after we answered its challenge, or
 *   401 with none configured), or demands a scheme we cannot answer.
 * - `locked_out`: a 403 after earlier 401s: the camera has locked this client out.
 * - `busy`: the camera refused a session because it serves too many (453, or 403 when no
 *   credentials are configured); retry no sooner than `retryAfterMs`.
 * - `not_found`: 404 or 454 (no such stream or session).
 * - `redirect_loop`: a redirect back to a URL already visited, or more than the allowed hops.
 * - `tls_mismatch`: an rtsps camera whose certificate fails verification or the pinned fingerprint.
 * - `protocol_error`: an answer that is not RTSP, oversized, out of order, or otherwise malformed.
 * - `unsupported`: a valid answer we cannot use (no video track, an unknown transport, a status
 *   we do not act on).
 * - `closed`: the client was closed by its owner.
 * - `address_refused`: the client's `resolveEndpoint` hook refused the camera's address (or the
 *   address a redirect leads to) before any connection was made; `details.reason` holds the hook's
 *   reason word when it gave one (AddressGuard: scheme, port, unresolvable, address), and
 *   `details.redirected` is true when the refused address is one a redirect leads to. The message
 *   never names the address: it may be shown to whoever submitted the URL.
 * Messages never hold credentials.
 */
export type RtspErrorCode =
  | 'unreachable'
  | 'timeout'
  | 'unauthorized'
  | 'locked_out'
  | 'busy'
  | 'not_found'
  | 'redirect_loop'
  | 'tls_mismatch'
  | 'protocol_error'
  | 'unsupported'
  | 'closed'
  | 'address_refused';

export class RtspError extends Error {
  constructor(
    readonly code: RtspErrorCode,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number; reason?: string; redirected?: boolean } = {},
  ) {
    super(message);
    this.name = 'RtspError';
  }
}
