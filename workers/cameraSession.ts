import type { IngestSource } from './Ingest.ts';
import { decodeSpropParameterSets, parseH264Sps, type H264Sps } from './h264Sps.ts';
import type { RtspTrack } from './rtsp/RtspClient.ts';
import { IngestError, RTSP_FAILURE_REASONS } from './IngestError.ts';
import { RtspClient, rtspEndpointOf, type RtspClientOptions } from './rtsp/RtspClient.ts';
import { RtspError } from './rtsp/RtspError.ts';

/**
 * Our RTSP client for one camera, as every ingest engine opens it (one session per camera run). A
 * pinned camera (IngestSource.pinned) connects only to its pinned address, with no lookup of its
 * host name, and a redirect to any other endpoint fails with `address_refused`.
 */
export function cameraRtspClient(camera: IngestSource, timeoutMs: number): RtspClient {
  const { pinned } = camera;
  return new RtspClient({
    url: camera.url,
    ...(camera.username !== undefined && { credentials: { username: camera.username, password: camera.password ?? '' } }),
    transport: camera.transport,
    timeoutMs,
    ...(camera.tls && { tls: camera.tls }),
    userAgent: 'C5Live',
    ...(pinned && { resolveEndpoint: ownEndpointOnly(camera.url, async () => ({ address: pinned.address })) }),
  });
}

/**
 * RtspClientOptions.resolveEndpoint for a camera held to its own endpoint (issue 26): the endpoint
 * of `url` (same host, port and scheme; a redirect to another path of it included) connects to the
 * address `resolve` gives (the pin, or the address guard's answer); any other endpoint, such as a
 * redirect to another host or port, is refused, so the client fails with `address_refused` ("the
 * address the camera redirects to is not allowed") before connecting there. A rejection of
 * `resolve` is the client's refusal, its `details.reason` kept (e.g. the guard's 'address').
 */
export function ownEndpointOnly(url: string, resolve: () => Promise<{ address: string }>): NonNullable<RtspClientOptions['resolveEndpoint']> {
  const own = rtspEndpointOf(url);
  return async (target) => {
    if (target.host !== own.host || target.port !== own.port || target.secure !== own.secure) throw new Error("only the camera's own endpoint may be connected to");
    return resolve();
  };
}

/** Any failure of an ingest run as an IngestError (RTSP refusals mapped by RTSP_FAILURE_REASONS). */
export function toIngestError(error: unknown): IngestError {
  if (error instanceof IngestError) return error;
  if (error instanceof RtspError) return new IngestError(RTSP_FAILURE_REASONS[error.code], error.message);
  return new IngestError('exited', (error as Error).message);
}

/** The payload of an RTP packet (after CSRCs and a header extension), or empty when malformed (RFC 3550 §5.1). */
export function rtpPayload(packet: Buffer): Buffer {
  if (packet.length < 12) return Buffer.alloc(0);
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return Buffer.alloc(0);
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  return offset <= packet.length ? packet.subarray(offset) : Buffer.alloc(0);
}

/** The SPS in an H.264 track's sprop-parameter-sets (RFC 6184 §8.1), parsed, or undefined when absent or unreadable. */
export function trackSps(track: RtspTrack): H264Sps | undefined {
  const nal = decodeSpropParameterSets(track.media.fmtp['sprop-parameter-sets'] ?? '').find((n) => ((n[0] ?? 0) & 0x1f) === 7);
  if (!nal) return undefined;
  try {
    return parseH264Sps(nal);
  } catch {
    return undefined;
  }
}
