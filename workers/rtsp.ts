/**
 * The RTSP client's public interface for server/ (server may import only top-level workers files):
 * the client session, the probe, errors and limits.
 */
export { RtspClient, parseRtspUrl, type RtspClientOptions, type RtspDescription, type RtspTrack, type RtspTrackTransport, type RtspClientEvents } from './rtsp/RtspClient.ts';
export { RtspError, type RtspErrorCode } from './rtsp/RtspError.ts';
export { probeRtspCamera, videoInfo, type RtspProbeResult } from './rtsp/probeRtspCamera.ts';
export type { RtspTlsPolicy } from './rtsp/RtspConnection.ts';
export type { RtspCredentials } from './rtsp/RtspAuthenticator.ts';
export { RTSP_LIMITS } from './rtsp/RtspMessageReader.ts';
