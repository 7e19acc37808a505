import type { TypedEmitter } from './common/TypedEmitter.ts';
import type { IngestError } from './IngestError.ts';
import type { RtspTransport } from './common/RtspTransport.ts';
import type { RtspTlsPolicy } from './rtsp.ts';

/** The camera an ingest pulls: its RTSP URL and credentials (never sent anywhere but the camera). */
export interface IngestSource {
  /** The camera's code. */
  id: string;
  url: string;
  username?: string;
  password?: string;
  transport: RtspTransport;
  /** How this camera reaches mediasoup (absent: the server's default, INGEST_ENGINE). */
  engine?: 'auto' | 'relay' | 'ffmpeg';
  /** rtsps: how the camera's certificate is checked (absent: against the system's CAs). */
  tls?: RtspTlsPolicy;
  /**
   * The only address the ingest may connect to for the URL's own endpoint (its host, port and
   * scheme): an enrolled citizen camera (issue 26), resolved through the address guard when its
   * session starts, so a later DNS answer (rebinding into the server's network) is never asked for.
   * Redirects to any other endpoint are refused (IngestError 'unreachable', "... is not allowed").
   * Every engine honours it, as every engine's RTSP session is our client's (cameraRtspClient): ffmpeg
   * never connects to a camera. rtsps: TLS still names the URL's host, and checks the certificate against it.
   */
  pinned?: { address: string };
}

/** What the ingest will send, known before any RTP flows, so the Producer can exist first. */
export interface IngestDescription {
  codec: {
    mimeType: 'video/H264';
    clockRate: 90000;
    payloadType: number;
    parameters: { 'packetization-mode': 1; 'profile-level-id': string; 'level-asymmetry-allowed': 1 };
  };
  ssrc: number;
  /**
   * The ingest passes keyframe requests (PLI/FIR) to the camera: the producer then declares
   * `nack pli` and `ccm fir`, so mediasoup asks it for keyframes (it sends none to a producer that
   * declares no feedback).
   */
  keyframeRequests?: boolean;
  /** What carries the stream: the packet relay (untouched RTP) or an ffmpeg process (copy or transcode). */
  engine: 'relay' | 'ffmpeg';
  /** Why the stream is transcoded (undefined when H.264 is passed through untouched). */
  transcodeReason?: 'codec' | 'b_frames' | 'high_profile' | 'low_tier';
  source: { codec: string; profile?: string; width?: number; height?: number; fps?: number; hasBFrames: boolean };
}

export interface RtpTarget {
  ip: string;
  rtpPort: number;
  rtcpPort: number;
}

export interface IngestProgress {
  frames: number;
  fps: number;
  kbps: number;
  /** The camera's keyframe interval as measured between its last two IDRs (ms); the relay knows it. */
  keyframeIntervalMs?: number;
  /** RTP packets received from the camera in this ingest's life (the relay). */
  packets?: number;
  /** RTP bytes received from the camera in this ingest's life (the relay). */
  bytes?: number;
  /** RTP packets the camera sent that never arrived (sequence gaps, RFC 3550 §6.4.1 cumulative lost). */
  lost?: number;
  /** Interarrival jitter of the camera's RTP (RFC 3550 §6.4.1), in ms. */
  jitterMs?: number;
  /** Time since the camera's last keyframe arrived (ms). */
  keyframeAgeMs?: number;
  /** The picture size of the SPS in the stream (px): the relay reads it from the keyframes when the SDP had none. */
  width?: number;
  height?: number;
}

export type IngestEvents = {
  progress: [IngestProgress];
  /** Media reaches the target again in this run (the first packet sent after start()). */
  flowing: [];
  /** The run ended without stop() being called; the reason says why. Emitted once per start. */
  error: [IngestError];
};

/**
 * One camera's stream source. open() learns what the camera sends; start() sends it as RTP to a
 * mediasoup PlainTransport; stop() ends the run. A stopped ingest can be opened and started again.
 */
export interface Ingest extends Pick<TypedEmitter<IngestEvents>, 'on' | 'off' | 'once'> {
  open(): Promise<IngestDescription>;
  start(target: RtpTarget): void;
  stop(): Promise<void>;
  readonly pid: number | undefined;
  /**
   * True when a run can end and a new one continue into the same target without the viewers
   * noticing (the relay: same source ports, sequence numbers and timestamps continuing), so the
   * feed is kept across camera reconnects.
   */
  readonly continuesAcrossRuns?: boolean;
  /**
   * Asks the camera for a keyframe now (a PLI on its RTSP session, at most one per second). For
   * engines whose producer declares no keyframe requests (ffmpeg copying the camera's H.264), so a
   * new viewer need not wait for the camera's next GOP.
   */
  requestKeyframe?(): void;
  /** Releases what the ingest keeps across runs (sockets); after close() it is not started again. */
  close?(): Promise<void>;
}
