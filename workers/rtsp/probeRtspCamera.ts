import type { RtspTransport } from '../common/RtspTransport.ts';
import { decodeSpropParameterSets, parseH264Sps } from '../h264Sps.ts';
import { RtspClient, type RtspClientOptions, type RtspTrack } from './RtspClient.ts';
import { RtspError } from './RtspError.ts';

/** What a camera said about itself during a probe. */
export interface RtspProbeResult {
  /** The URL that answered, after redirects (no credentials). */
  url: string;
  redirects: number;
  /** The authentication scheme the camera asked for, if any ('digest-md5', 'basic', ...). */
  authScheme?: string;
  /** The first video track, from the SDP (codec from rtpmap; size and profile from the SPS in sprop-parameter-sets). */
  video?: { codec: string; width?: number; height?: number; profileLevelId?: string; fps?: number };
}

/**
 * Checks a camera without pulling video: DESCRIBE (following redirects), SETUP of the first video
 * track (so a camera that demands authentication only at SETUP is checked too), then TEARDOWN so the
 * session slot is freed at once. Throws RtspError with the reason (unauthorized, busy, ...).
 */
export async function probeRtspCamera(options: RtspClientOptions & { transport?: RtspTransport; deadlineMs?: number }): Promise<RtspProbeResult> {
  const client = new RtspClient(options);
  // Redirect hops and authentication rounds each get `timeoutMs`; the whole probe gets one deadline.
  const deadlineMs = options.deadlineMs ?? 3 * (options.timeoutMs ?? 10_000);
  let expired = false;
  const deadline = setTimeout(() => {
    expired = true;
    void client.close();
  }, deadlineMs);
  try {
    const description = await client.describe();
    const video = description.tracks.find((track) => track.media.type === 'video');
    if (!video) throw new RtspError('unsupported', 'the camera offers no video track');
    await client.setup(video);
    return {
      url: description.url,
      redirects: description.redirects,
      ...(client.authScheme && { authScheme: client.authScheme }),
      video: videoInfo(video),
    };
  } catch (error) {
    if (expired) throw new RtspError('timeout', `the probe took longer than ${deadlineMs} ms`);
    throw error;
  } finally {
    clearTimeout(deadline);
    await client.close();
  }
}

/** Codec, size, profile and frame rate of a video track as its SDP describes it (RFC 6184 §8.1 sprop-parameter-sets). */
export function videoInfo(track: RtspTrack): NonNullable<RtspProbeResult['video']> {
  const info: NonNullable<RtspProbeResult['video']> = { codec: track.codec || 'unknown' };
  if (track.codec !== 'h264') return info;
  const profileLevelId = track.media.fmtp['profile-level-id'];
  if (profileLevelId && /^[0-9a-f]{6}$/i.test(profileLevelId)) info.profileLevelId = profileLevelId.toLowerCase();
  const sps = decodeSpropParameterSets(track.media.fmtp['sprop-parameter-sets'] ?? '').find((nal) => ((nal[0] ?? 0) & 0x1f) === 7);
  if (sps) {
    try {
      const parsed = parseH264Sps(sps);
      info.width = parsed.width;
      info.height = parsed.height;
      info.profileLevelId = parsed.profileLevelId;
      if (parsed.fps !== undefined) info.fps = parsed.fps;
    } catch {
      // A broken SPS in the SDP leaves the size unknown; the stream itself may still carry a good one.
    }
  }
  return info;
}
