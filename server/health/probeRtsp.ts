import type { CameraHealthRecord, HealthStatus } from '../catalog/CameraRecord.ts';
import type { CheckOutcome } from '../cameras/checkCamera.ts';

/** A probe's verdict on a camera, in the catalog's health terms. */
export interface ProbeResult {
  status: HealthStatus;
  /** Free of credentials. */
  message: string;
  /** What the SDP described (reachable cameras). */
  stream?: CameraHealthRecord['stream'];
  /** The URL that answered after redirects, when the camera redirected. */
  redirectedTo?: string;
}

/**
 * Maps an RTSP check to a health status: reachable (a session was set up), unauthorized, locked_out
 * or busy (as the camera refused), and unreachable for everything else (no answer, timeout, not
 * found, a redirect loop, a refused certificate, a broken answer), with the reason in the message.
 */
export function probeResultOf(outcome: CheckOutcome): ProbeResult {
  if (outcome.ok) {
    const { probe } = outcome;
    const video = probe.video;
    return {
      status: 'reachable',
      message: `answered DESCRIBE and SETUP${probe.authScheme ? ` (${probe.authScheme})` : ''}`,
      ...(video && {
        stream: {
          codec: video.codec,
          ...(video.width !== undefined && { width: video.width }),
          ...(video.height !== undefined && { height: video.height }),
          ...(video.profileLevelId !== undefined && { profileLevelId: video.profileLevelId }),
          ...(video.fps !== undefined && { fps: video.fps }),
        },
      }),
      ...(probe.redirects > 0 && { redirectedTo: probe.url }),
    };
  }
  const status: HealthStatus = outcome.code === 'unauthorized' || outcome.code === 'locked_out' || outcome.code === 'busy' ? outcome.code : 'unreachable';
  return { status, message: status === 'unreachable' ? `${outcome.code}: ${outcome.message}` : outcome.message };
}
