import { probeRtspCamera, RtspError } from '../../workers/rtsp.ts';
import type { CameraChecker, CameraCheckVerdict } from './EnrolmentService.ts';

/**
 * The enrolment's RTSP check (issue 26): DESCRIBE, SETUP of the video track, TEARDOWN, with our
 * RTSP client connecting only to addresses the guard resolved (the submitted host and any host a
 * redirect names; no second lookup). The owner learns only reachable / unauthorized / unreachable;
 * reviewers also get the client's reason, which names neither credentials nor addresses.
 */
export function rtspCameraChecker(timeoutMs: number): CameraChecker {
  return async (target, resolveEndpoint): Promise<CameraCheckVerdict> => {
    try {
      const probe = await probeRtspCamera({
        url: target.url,
        ...(target.username !== undefined && { credentials: { username: target.username, password: target.password ?? '' } }),
        transport: 'tcp',
        timeoutMs,
        deadlineMs: 2 * timeoutMs,
        userAgent: 'C5Live enrolment check',
        resolveEndpoint,
      });
      const video = probe.video && { codec: probe.video.codec, ...(probe.video.width !== undefined && { width: probe.video.width }), ...(probe.video.height !== undefined && { height: probe.video.height }) };
      return { result: 'reachable', ...(video && { video }), ...(probe.redirects > 0 && { detail: `answered after ${probe.redirects} redirect(s)` }) };
    } catch (error) {
      const rtspError = error instanceof RtspError ? error : new RtspError('unreachable', 'the check failed');
      switch (rtspError.code) {
        case 'unauthorized':
        case 'locked_out':
          return { result: 'unauthorized', detail: rtspError.code === 'locked_out' ? 'the camera locked the login out after refused attempts' : 'the camera refused the user name or password' };
        case 'address_refused':
          return { result: 'unreachable', refusedAddress: true, detail: 'the camera or a redirect named an address that is not public' };
        default:
          return { result: 'unreachable', detail: reviewerDetail(rtspError) };
      }
    }
  };
}

/** The reason for reviewers: the error's code and its message stripped of anything address-like. */
function reviewerDetail(error: RtspError): string {
  const message = error.message.replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<address>').replace(/\[[0-9a-f:]+\](:\d+)?/gi, '<address>');
  return `${error.code}: ${message}`.slice(0, 300);
}
