import type { RtpTarget } from './Ingest.ts';

export interface FfmpegArgsOptions {
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

/**
 * The ffmpeg argument array for one ingest run (spawned directly, never through a shell). The input
 * is the camera's RTP, received by our RTSP client and handed on over loopback UDP, described by an
 * SDP written to ffmpeg's stdin (transcoderSdp): ffmpeg never talks to the camera, so no camera URL or
 * credential is on its command line.
 */
export function buildFfmpegArgs(options: FfmpegArgsOptions): string[] {
  const video =
    options.mode === 'copy'
      ? // Every keyframe carries SPS/PPS, so mediasoup sees it as a keyframe and a new viewer starts on it.
        ['-c:v', 'copy', '-bsf:v', 'dump_extra=freq=keyframe']
      : h264EncodeArgs(options.fps, options.transcodeKbps);
  return [
    ...sdpInputArgs(),
    ...video,
    ...rtpOutputArgs(options.target, options.ssrc, options.payloadType),
    '-progress', 'pipe:1', '-stats_period', '1', '-nostats',
  ];
}

/**
 * libx264 as browsers and mediasoup want it: Constrained Baseline, no B-frames, a GOP of one
 * second at `fps`, `kbps` average and peak (kbit/s) with a half-second VBV buffer (it holds the peak
 * without adding a frame of delay), and SPS/PPS repeated before every keyframe, so mediasoup sees it
 * as a keyframe and a new viewer starts on it.
 */
export function h264EncodeArgs(fps: number, kbps: number): string[] {
  const gop = String(Math.max(1, Math.round(fps)));
  return [
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
    '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-bf', '0',
    '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
    '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${Math.round(kbps / 2)}k`,
    '-x264-params', 'repeat-headers=1',
  ];
}

/** RTP output to a mediasoup PlainTransport (RTCP not muxed), 1200-byte packets, our SSRC and payload type. */
export function rtpOutputArgs(target: RtpTarget, ssrc: number, payloadType: number): string[] {
  const { ip, rtpPort, rtcpPort } = target;
  return [
    '-f', 'rtp',
    '-payload_type', String(payloadType),
    '-ssrc', String(ssrc),
    '-pkt_size', '1200',
    `rtp://${ip}:${rtpPort}?rtcpport=${rtcpPort}&pkt_size=1200`,
  ];
}

/**
 * ffmpeg's input half when its input is RTP on loopback UDP described by an SDP on stdin
 * (transcoderSdp): low-delay flags, the first video stream only. Shared by the ingest's ffmpeg engine
 * and ProducerFfmpeg.
 */
export function sdpInputArgs(): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-fflags', 'nobuffer', '-flags', 'low_delay',
    // The SDP already says what the stream is: ffmpeg need not analyse seconds of it before sending.
    '-analyzeduration', '500000', '-probesize', '262144',
    // The SDP comes on stdin; the RTP on loopback UDP, bound to 127.0.0.1 only (no one else can inject).
    '-protocol_whitelist', 'pipe,udp,rtp',
    '-localaddr', '127.0.0.1',
    '-buffer_size', String(4 * 1024 * 1024),
    '-f', 'sdp', '-i', 'pipe:0',
    '-map', '0:v:0', '-an', '-sn', '-dn',
  ];
}

export interface TranscoderInput {
  /** Loopback UDP port ffmpeg receives RTP on (even; RTCP on the next). */
  port: number;
  payloadType: number;
  /** The encoding name for rtpmap, e.g. 'H264', 'H265', 'JPEG'. */
  encoding: string;
  /** Hz. */
  clockRate: number;
  /** The camera's fmtp parameters of that format (sprop-parameter-sets, ...). */
  fmtp: Record<string, string>;
}

/**
 * The SDP (RFC 8866) that tells ffmpeg what arrives on its loopback port. The camera's own values
 * are copied only when they are plain tokens: this text is parsed by ffmpeg, so nothing the camera
 * wrote may add a line or an attribute of its own.
 */
export function transcoderSdp(input: TranscoderInput): string {
  const token = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
  const value = /^[\x21-\x3a\x3c-\x7e]{1,4096}$/; // visible ASCII without ';'
  if (!Number.isInteger(input.payloadType) || input.payloadType < 0 || input.payloadType > 127) throw new Error(`payload type ${input.payloadType} out of range`);
  if (!token.test(input.encoding)) throw new Error('encoding name is not a token');
  const fmtp = Object.entries(input.fmtp)
    .filter(([key, text]) => token.test(key) && value.test(text))
    .map(([key, text]) => `${key}=${text}`)
    .join(';');
  return [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=C5 Live transcoder input',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=video ${input.port} RTP/AVP ${input.payloadType}`,
    `a=rtpmap:${input.payloadType} ${input.encoding}/${Math.round(input.clockRate)}`,
    ...(fmtp ? [`a=fmtp:${input.payloadType} ${fmtp}`] : []),
    'a=recvonly',
    '',
  ].join('\r\n');
}
