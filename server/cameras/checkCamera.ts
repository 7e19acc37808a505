import { probeRtspCamera, RtspError, type RtspClientOptions, type RtspProbeResult, type RtspTlsPolicy } from '../../workers/rtsp.ts';
import type { IngestSource } from '../../workers/Ingest.ts';
import { CameraLoginGuard, type LoginRefusal } from './CameraLoginGuard.ts';

/** The camera to check: its code (`id`), URL and credentials (sent to the camera only), and its rtsps policy. */
export type CheckTarget = Pick<IngestSource, 'id' | 'url' | 'username' | 'password' | 'transport'> & { tls?: RtspTlsPolicy };

export interface CheckOptions {
  /**
   * Approves the address of every endpoint the check connects to (the camera's, and any a redirect
   * names), as RtspClientOptions.resolveEndpoint: cameras submitted by strangers (issue 26). A
   * refusal is the outcome `address_refused` (contacted: false unless a redirect's target was refused).
   */
  resolveEndpoint?: RtspClientOptions['resolveEndpoint'];
}

export type CheckOutcome =
  | { ok: true; probe: RtspProbeResult }
  | { ok: false; code: RtspError['code']; message: string; retryAt?: number; contacted: boolean };

/**
 * Checks a camera with the RTSP client (DESCRIBE, SETUP, TEARDOWN) unless the guard holds a refusal
 * in force for it, in which case the camera is not contacted at all. Refusals (unauthorized,
 * locked_out, busy) are recorded in the guard; an accepted session lifts them.
 */
export function checkCamera(target: CheckTarget, guard: CameraLoginGuard, timeoutMs: number, options: CheckOptions = {}): Promise<CheckOutcome> {
  const key = CameraLoginGuard.credentialKey(target.username, target.password);
  return guard.once(target.id, key, () => contact(target, guard, key, timeoutMs, options));
}

async function contact(target: CheckTarget, guard: CameraLoginGuard, key: string, timeoutMs: number, options: CheckOptions): Promise<CheckOutcome> {
  const held = guard.refusal(target.id, key);
  if (held) return { ok: false, code: held.code, message: `${held.message}; not asked again before ${new Date(held.retryAt).toISOString()}`, retryAt: held.retryAt, contacted: false };
  try {
    const probe = await probeRtspCamera({
      url: target.url,
      ...(target.username !== undefined && { credentials: { username: target.username, password: target.password ?? '' } }),
      transport: target.transport,
      timeoutMs,
      ...(target.tls && { tls: target.tls }),
      priorUnauthorized: guard.refusedBefore(target.id, key),
      userAgent: 'C5Live',
      ...(options.resolveEndpoint && { resolveEndpoint: options.resolveEndpoint }),
    });
    guard.accepted(target.id);
    return { ok: true, probe };
  } catch (error) {
    const rtspError = error instanceof RtspError ? error : new RtspError('unreachable', (error as Error).message);
    const { code, message } = rtspError;
    if (code === 'unauthorized' || code === 'locked_out' || code === 'busy') {
      const refusal: LoginRefusal = guard.refused(target.id, key, code, message, rtspError.details.retryAfterMs);
      return { ok: false, code, message, retryAt: refusal.retryAt, contacted: true };
    }
    // A refused address is refused before any connection to it; a redirect's target after the camera answered.
    return { ok: false, code, message, contacted: code !== 'address_refused' || rtspError.details.redirected === true };
  }
}
