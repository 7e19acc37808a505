import type { RtpTarget } from './Ingest.ts';
import type { RtspTransport } from './common/RtspTransport.ts';

export interface FfmpegArgsOptions {
  url: string;
  transport: RtspTransport;
  /** RTSP socket I/O timeout. */
  timeoutMs: number;
  /** Pass H.264 through untouched, or transcode to H.264 that every browser decodes. */
  mode: 'copy' | 'transcode';
  /** Source frame rate; the transcoder's GOP is one second of it. */
  fps: number;
  /** Transcoded output: average and peak bit rate (kbit/s). libx264 ultrafast uncapped gives ~3x a camera's own rate. */
  transcodeKbps: number;
  target: RtpTarget;
  ssrc: number;
  payloadType: number;
}

/** The ffmpeg argument array for one ingest run (spawned directly, never through a shell). */
export function buildFfmpegArgs(options: FfmpegArgsOptions): string[] {
  const gop = String(Math.max(1, Math.round(options.fps)));
  const video =
    options.mode === 'copy'
      ? // Every keyframe carries SPS/PPS, so mediasoup sees it as a keyframe and a new viewer starts on it.
        ['-c:v', 'copy', '-bsf:v', 'dump_extra=freq=keyframe']
      : [
          '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
          '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-bf', '0',
          '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
          // A half-second VBV buffer holds the peak rate without adding a frame of delay.
          '-b:v', `${options.transcodeKbps}k`, '-maxrate', `${options.transcodeKbps}k`, '-bufsize', `${Math.round(options.transcodeKbps / 2)}k`,
          '-x264-params', 'repeat-headers=1',
        ];
  const { ip, rtpPort, rtcpPort } = options.target;
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-fflags', 'nobuffer', '-flags', 'low_delay',
    // The probe already knows the stream: ffmpeg need not analyse seconds of it before sending.
    '-analyzeduration', '500000', '-probesize', '262144',
    '-rtsp_transport', options.transport,
    '-timeout', String(Math.round(options.timeoutMs * 1000)),
    '-i', options.url,
    '-map', '0:v:0', '-an', '-sn', '-dn',
    ...video,
    '-f', 'rtp',
    '-payload_type', String(options.payloadType),
    '-ssrc', String(options.ssrc),
    '-pkt_size', '1200',
    `rtp://${ip}:${rtpPort}?rtcpport=${rtcpPort}&pkt_size=1200`,
    '-progress', 'pipe:1', '-stats_period', '1', '-nostats',
  ];
}

/** Puts RTSP credentials into a camera URL (percent-encoded); the result must never be logged. */
export function withCredentials(url: string, username?: string, password?: string): string {
  if (!username) return url;
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(username);
  parsed.password = password ? encodeURIComponent(password) : '';
  return parsed.toString();
}
