/**
 * The browser side of LoadViewers.ts: N receive-only viewers of one camera in one page. Bundled by
 * LoadViewers.ts with esbuild at run time (IIFE) and served with Playwright's page.route() on the
 * origin of the system under test; it is never a file or a route of C5 Live, Janus or rtsp-relay.
 *
 * It defines window.c5BenchLoad:
 *   open(options)  opens `count` viewers (at most `concurrency` handshakes at a time); resolves when
 *                  each has either started receiving or failed (the failure is kept in its stats)
 *   stats()        per-viewer counters (inbound-rtp for WebRTC, WebSocket messages for rtsp-relay)
 *   close()        closes every viewer (consumers/handles/sockets), then resolves
 *
 * C5 Live: per viewer its own SignallingClient (Socket.IO) + MediaReceiver (mediasoup-client Device,
 * receive transport) + one consumer, resumed: exactly what a console tile does, minus the <video>.
 * Janus: ONE janus.js session (one HTTP long poll) with N streaming-plugin handles watching the same
 * mountpoint, each with its own RTCPeerConnection. One session because janus.js long-polls per
 * session and Chromium allows only 6 HTTP/1.1 connections per host: N sessions would starve each
 * other's requests. The media cost on Janus is per handle (one PeerConnection each) either way.
 * rtsp-relay: N WebSockets counting the bytes of the MPEG-TS they receive; nothing is decoded.
 *
 * Receive-only: by default no remote track is given a sink, AND every video receiver gets an
 * RTCRtpScriptTransform whose worker passes on KEYFRAMES ONLY. No sink is not enough: measured with
 * Debian's Chromium 156, a remote video track with no sink at all is still decoded at the full
 * frame rate (contrary to the common belief that Chromium does not decode a track without a sink).
 * Dropping every frame stops the decoding but makes each receiver send ~3 PLIs a second (its frame
 * buffer times out waiting for a keyframe), which no real viewer does; passing keyframes only keeps
 * the frame buffer fed (no PLI storm) and decodes 1 frame per GOP instead of every frame. The page
 * still does all of ICE, DTLS, SRTP, RTP/RTCP and NACK, and counts every packet and byte.
 * `decode: true` instead attaches each track to a small muted <video> and decodes every frame.
 *
 * No global augmentation (the project type-checks scripts/ with lib DOM): globals go through casts.
 */
import type { types as msc } from 'mediasoup-client';
import { SignallingClient } from '../../client/src/SignallingClient.ts';
import { MediaReceiver } from '../../client/src/MediaReceiver.ts';
import { sleep } from './sleep.ts';

export type LoadSystem = 'c5' | 'janus' | 'rtspRelay';

export type PageOpenOptions = {
  count: number;
  /** Handshakes in flight at once (default 8). */
  concurrency?: number;
  /** Attach every remote track to a muted <video> and decode every frame (default: keyframes only reach the decoder). */
  decode?: boolean;
  /** Per viewer: give up when it has not received a packet after this long (default 30 s). */
  timeoutMs?: number;
  /** Stop setting up viewers once this many failed; the rest are marked failed without an attempt. */
  abortAfterFailures?: number;
} & (
  | { system: 'c5'; token: string; cameraId: string }
  | { system: 'janus'; janusApi: string; mountpointId: number }
  | { system: 'rtspRelay'; wsUrl: string }
);

export interface ViewerStats {
  index: number;
  /** 'connecting' | 'connected' | 'failed' | 'closed' (WebRTC: the PeerConnection / DTLS state; rtsp-relay: the WebSocket's). */
  state: string;
  /** Why the viewer failed, if it did. */
  error: string | null;
  /** Something worth knowing that is not a failure (e.g. frames could not be kept from the decoder). */
  remark: string | null;
  /** RTP packets (WebRTC) or WebSocket messages (rtsp-relay). */
  packetsReceived: number;
  /** inbound-rtp packetsLost (can be negative briefly, as RTCP defines it); 0 for rtsp-relay. */
  packetsLost: number;
  /** RTP payload bytes (WebRTC) or WebSocket payload bytes (rtsp-relay). */
  bytesReceived: number;
  /** null when nothing is decoded here (rtsp-relay); without `decode`, about one frame per GOP. */
  framesDecoded: number | null;
  nackCount: number;
  pliCount: number;
  /** ms from the start of this viewer's open to its first packet; null before. */
  firstPacketMs: number | null;
}

export interface PageStats {
  /** performance.now() in the page when the stats were read. */
  at: number;
  viewers: ViewerStats[];
}

interface Viewer {
  readonly index: number;
  readonly state: string;
  stats(): Promise<ViewerStats>;
  close(): Promise<void>;
}

const DEFAULT_CONCURRENCY = 8;
const DEFAULT_TIMEOUT_MS = 30_000;

const message = (error: unknown) => (error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error));

/** Sums the video inbound-rtp entries of a stats report. */
function inbound(report: RTCStatsReport): Pick<ViewerStats, 'packetsReceived' | 'packetsLost' | 'bytesReceived' | 'framesDecoded' | 'nackCount' | 'pliCount'> {
  const out = { packetsReceived: 0, packetsLost: 0, bytesReceived: 0, framesDecoded: 0, nackCount: 0, pliCount: 0 };
  report.forEach((s: Record<string, unknown>) => {
    if (s.type !== 'inbound-rtp' || (s.kind ?? s.mediaType) !== 'video') return;
    const n = (key: string) => (typeof s[key] === 'number' ? (s[key] as number) : 0);
    out.packetsReceived += n('packetsReceived');
    out.packetsLost += n('packetsLost');
    out.bytesReceived += n('bytesReceived');
    out.framesDecoded += n('framesDecoded');
    out.nackCount += n('nackCount');
    out.pliCount += n('pliCount');
  });
  return out;
}

function sink(track: MediaStreamTrack): HTMLVideoElement {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.autoplay = true;
  video.width = 64;
  video.height = 36;
  video.srcObject = new MediaStream([track]);
  document.body.append(video);
  video.play().catch(() => undefined);
  return video;
}

let dropWorker: Worker | null | undefined;

/** A worker that lets only the keyframes of the receivers handed to it through (null if unsupported). */
function frameDropper(): Worker | null {
  if (dropWorker !== undefined) return dropWorker;
  const Transform = (window as unknown as { RTCRtpScriptTransform?: unknown }).RTCRtpScriptTransform;
  if (typeof Transform !== 'function') return (dropWorker = null);
  const source = `onrtctransform = (event) => {
    const t = event.transformer;
    t.readable.pipeThrough(new TransformStream({ transform(frame, out) { if (frame.type === 'key') out.enqueue(frame); } })).pipeTo(t.writable).catch(() => {});
  };`;
  dropWorker = new Worker(URL.createObjectURL(new Blob([source], { type: 'application/javascript' })));
  return dropWorker;
}

/** Whether every new video receiver of the page passes keyframes only (set up by dropAllFrames()). */
let dropping = false;

/**
 * From now on, every RTCPeerConnection created in this page gives each new video receiver an
 * RTCRtpScriptTransform that drops every frame but the keyframes. It must be set in the 'track' event, i.e. during
 * setRemoteDescription, before the receive stream exists: set later (after mediasoup-client's
 * consume() has negotiated), Chromium 156 accepts the transform but keeps decoding. mediasoup-client
 * and janus.js both look RTCPeerConnection up on window when they create one, so a subclass
 * installed here covers both. False when the browser has no RTCRtpScriptTransform.
 */
function dropAllFrames(): boolean {
  if (dropping) return true;
  const dropper = frameDropper();
  if (!dropper) return false;
  const worker: Worker = dropper;
  const Transform = (window as unknown as { RTCRtpScriptTransform: new (worker: Worker, options?: unknown) => unknown }).RTCRtpScriptTransform;
  const Native = window.RTCPeerConnection;
  class DroppingPeerConnection extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      this.addEventListener('track', (event: RTCTrackEvent) => {
        if (event.track.kind === 'video') (event.receiver as unknown as { transform: unknown }).transform = new Transform(worker, { drop: true });
      });
    }
  }
  window.RTCPeerConnection = DroppingPeerConnection;
  dropping = true;
  return true;
}

/** Base of a viewer: its state, error and first-packet time, and waiting for the first packet. */
class ViewerBase {
  state = 'connecting';
  error: string | null = null;
  remark: string | null = null;
  firstPacketMs: number | null = null;
  readonly startedAt = performance.now();

  constructor(readonly index: number) {}

  fail(error: unknown): void {
    if (this.state === 'closed') return;
    this.state = 'failed';
    this.error ??= message(error);
  }

  /** A remark that is not a failure (kept in `error` only if nothing worse happens). */
  note(remark: string): void {
    this.remark ??= remark;
  }

  notePackets(packets: number): void {
    if (packets > 0 && this.firstPacketMs === null) this.firstPacketMs = Math.round(performance.now() - this.startedAt);
  }

  /** Resolves when `stats()` shows a packet, the viewer failed, or the time is up (then it fails). */
  async waitForPackets(stats: () => Promise<ViewerStats>, timeoutMs: number): Promise<void> {
    const deadline = this.startedAt + timeoutMs;
    while (this.firstPacketMs === null && this.state !== 'failed' && this.state !== 'closed') {
      if (performance.now() > deadline) {
        this.fail(`no packet within ${timeoutMs} ms`);
        return;
      }
      await stats().catch(() => undefined);
      if (this.firstPacketMs === null) await sleep(100);
    }
  }
}

// ---------------------------------------------------------------- C5 Live

class C5Viewer extends ViewerBase implements Viewer {
  readonly #signalling: SignallingClient;
  readonly #receiver: MediaReceiver;
  #consumer: msc.Consumer | undefined;
  #video: HTMLVideoElement | undefined;

  constructor(index: number, token: string) {
    super(index);
    this.#signalling = new SignallingClient(() => token);
    this.#receiver = new MediaReceiver(this.#signalling);
  }

  async open(cameraId: string, decode: boolean): Promise<void> {
    const signalling = this.#signalling;
    await new Promise<void>((resolve, reject) => {
      signalling.on('connected', () => resolve());
      signalling.on('authFailed', (why) => reject(new Error(`refused: ${why}`)));
      signalling.on('sessionEnded', (why) => this.fail(`session ended: ${why}`));
      signalling.on('disconnected', (why) => this.fail(`disconnected: ${why}`));
      signalling.on('consumerClosed', (event) => this.fail(`consumer closed: ${event.reason}`));
      signalling.open();
    });
    this.#receiver.on('failed', () => this.fail('ICE/DTLS failed'));
    await this.#receiver.open();
    const { consumer, track } = await this.#receiver.consume(cameraId);
    this.#consumer = consumer;
    if (this.state === 'closed') return;
    if (decode) this.#video = sink(track);
    else if (!dropping) this.note('every frame is decoded: no RTCRtpScriptTransform');
    await this.#receiver.resume(consumer);
  }

  async stats(): Promise<ViewerStats> {
    const consumer = this.#consumer;
    const counters = consumer && !consumer.closed ? inbound(await consumer.getStats()) : inbound(new Map() as unknown as RTCStatsReport);
    this.notePackets(counters.packetsReceived);
    // The consumer's RTCRtpReceiver rides on the transport's DTLS transport: its state is the connection's.
    const dtls = consumer?.rtpReceiver?.transport?.state;
    if (this.state !== 'failed' && this.state !== 'closed' && dtls) this.state = dtls === 'new' ? 'connecting' : dtls;
    return { index: this.index, state: this.state, error: this.error, remark: this.remark, ...counters, firstPacketMs: this.firstPacketMs };
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.#video?.remove();
    // Closing the socket makes the server close the transport and its consumer.
    this.#receiver.reset();
    this.#signalling.close();
  }
}

// ---------------------------------------------------------------- Janus (janus.js, global Janus)

interface JanusPluginHandle {
  send(request: { message: Record<string, unknown>; jsep?: unknown; success?: () => void; error?: (e: unknown) => void }): void;
  createAnswer(options: { jsep: unknown; tracks: Array<Record<string, unknown>>; success: (jsep: unknown) => void; error: (e: unknown) => void }): void;
  detach(options?: { success?: () => void; error?: (e: unknown) => void; noRequest?: boolean }): void;
  webrtcStuff?: { pc?: RTCPeerConnection };
}

interface JanusSession {
  attach(options: {
    plugin: string;
    opaqueId: string;
    success: (handle: JanusPluginHandle) => void;
    error: (e: unknown) => void;
    onmessage: (msg: Record<string, unknown> | undefined, jsep: unknown) => void;
    onremotetrack?: (track: MediaStreamTrack, mid: string, on: boolean) => void;
    webrtcState?: (up: boolean, reason?: string) => void;
    iceState?: (state: string) => void;
    oncleanup?: () => void;
  }): void;
  destroy(options?: { success?: () => void; error?: (e: unknown) => void }): void;
}

interface JanusStatic {
  new (options: { server: string; success: () => void; error: (e: unknown) => void; destroyed?: () => void }): JanusSession;
  init(options: { debug: boolean; dependencies: unknown; callback: () => void }): void;
  useDefaultDependencies(): unknown;
  randomString(length: number): string;
}

let janusSession: Promise<JanusSession> | undefined;

function openJanusSession(server: string): Promise<JanusSession> {
  janusSession ??= new Promise<JanusSession>((resolve, reject) => {
    const Janus = (window as unknown as { Janus?: JanusStatic }).Janus;
    if (!Janus) {
      reject(new Error('janus.js is not loaded'));
      return;
    }
    Janus.init({
      debug: false,
      dependencies: Janus.useDefaultDependencies(),
      callback: () => {
        const session: JanusSession = new Janus({ server, success: () => resolve(session), error: (e) => reject(new Error(`janus session: ${message(e)}`)) });
      },
    });
  });
  return janusSession;
}

class JanusViewer extends ViewerBase implements Viewer {
  #handle: JanusPluginHandle | undefined;
  #video: HTMLVideoElement | undefined;

  async open(janusApi: string, mountpointId: number, decode: boolean): Promise<void> {
    const session = await openJanusSession(janusApi);
    const Janus = (window as unknown as { Janus: JanusStatic }).Janus;
    await new Promise<void>((resolve, reject) => {
      session.attach({
        plugin: 'janus.plugin.streaming',
        opaqueId: `bench-load-${this.index}-${Janus.randomString(6)}`,
        error: (e) => reject(new Error(`attach: ${message(e)}`)),
        success: (handle) => {
          this.#handle = handle;
          handle.send({ message: { request: 'watch', id: mountpointId } });
        },
        onmessage: (msg, jsep) => {
          const handle = this.#handle;
          if (msg && msg.error) {
            const error = new Error(`plugin: ${message(msg.error)}`);
            this.fail(error);
            reject(error);
            return;
          }
          if (jsep && handle) {
            handle.createAnswer({
              jsep,
              // Same as JanusPeer's page: no local media, receive what the mountpoint offers.
              tracks: [{ type: 'data' }],
              success: (answer) => {
                handle.send({ message: { request: 'start' }, jsep: answer });
                resolve();
              },
              error: (e) => reject(new Error(`answer: ${message(e)}`)),
            });
          }
        },
        onremotetrack: (track, _mid, on) => {
          if (!on || track.kind !== 'video') return;
          if (decode) {
            if (!this.#video) this.#video = sink(track);
          } else if (!dropping) this.note('every frame is decoded: no RTCRtpScriptTransform');
        },
        webrtcState: (up, reason) => {
          if (!up) this.fail(`webrtc down${reason ? `: ${reason}` : ''}`);
        },
        oncleanup: () => {
          if (this.state !== 'closed') this.fail('janus cleaned the handle up');
        },
      });
    });
  }

  async stats(): Promise<ViewerStats> {
    const pc = this.#handle?.webrtcStuff?.pc;
    const counters = inbound(pc ? await pc.getStats() : (new Map() as unknown as RTCStatsReport));
    this.notePackets(counters.packetsReceived);
    if (pc && this.state !== 'failed' && this.state !== 'closed') this.state = pc.connectionState === 'new' ? 'connecting' : pc.connectionState;
    return { index: this.index, state: this.state, error: this.error, remark: this.remark, ...counters, firstPacketMs: this.firstPacketMs };
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.#video?.remove();
    const handle = this.#handle;
    if (!handle) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      handle.detach({ success: () => { clearTimeout(timer); resolve(); }, error: () => { clearTimeout(timer); resolve(); } });
    });
  }
}

// ---------------------------------------------------------------- rtsp-relay (WebSocket)

class RelayViewer extends ViewerBase implements Viewer {
  #socket: WebSocket | undefined;
  #messages = 0;
  #bytes = 0;

  open(wsUrl: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(wsUrl);
      socket.binaryType = 'arraybuffer';
      this.#socket = socket;
      socket.onopen = () => {
        this.state = 'connected';
        resolve();
      };
      socket.onmessage = (event: MessageEvent) => {
        this.#messages += 1;
        const data: unknown = event.data;
        this.#bytes += data instanceof ArrayBuffer ? data.byteLength : typeof data === 'string' ? data.length : 0;
        this.notePackets(this.#messages);
      };
      socket.onerror = () => {
        this.fail('websocket error');
        reject(new Error('websocket error'));
      };
      socket.onclose = (event) => {
        if (this.state !== 'closed') this.fail(`websocket closed (${event.code})`);
      };
    });
  }

  async stats(): Promise<ViewerStats> {
    return {
      index: this.index,
      state: this.state,
      error: this.error,
      remark: this.remark,
      packetsReceived: this.#messages,
      packetsLost: 0,
      bytesReceived: this.#bytes,
      framesDecoded: null,
      nackCount: 0,
      pliCount: 0,
      firstPacketMs: this.firstPacketMs,
    };
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.#socket?.close();
  }
}

/** A viewer not set up because too many before it failed (abortAfterFailures). */
class SkippedViewer extends ViewerBase implements Viewer {
  async stats(): Promise<ViewerStats> {
    return { index: this.index, state: this.state, error: this.error, remark: null, packetsReceived: 0, packetsLost: 0, bytesReceived: 0, framesDecoded: null, nackCount: 0, pliCount: 0, firstPacketMs: null };
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------- the page API

const viewers: Viewer[] = [];

async function openOne(index: number, options: PageOpenOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const decode = options.decode ?? false;
  let viewer: ViewerBase & Viewer;
  let opening: Promise<void>;
  switch (options.system) {
    case 'c5': {
      const v = new C5Viewer(index, options.token);
      opening = v.open(options.cameraId, decode);
      viewer = v;
      break;
    }
    case 'janus': {
      const v = new JanusViewer(index);
      opening = v.open(options.janusApi, options.mountpointId, decode);
      viewer = v;
      break;
    }
    case 'rtspRelay': {
      const v = new RelayViewer(index);
      opening = v.open(options.wsUrl);
      viewer = v;
      break;
    }
  }
  viewers.push(viewer);
  const v = viewer;
  const timedOut = sleep(timeoutMs).then(() => {
    throw new Error(`not set up within ${timeoutMs} ms`);
  });
  try {
    await Promise.race([opening, timedOut]);
  } catch (error) {
    v.fail(error);
    return;
  }
  await v.waitForPackets(() => v.stats(), timeoutMs);
}

const api = {
  async open(options: PageOpenOptions): Promise<void> {
    if (!options.decode) dropAllFrames();
    const first = viewers.length;
    let next = first;
    const end = first + options.count;
    const limit = options.abortAfterFailures ?? Number.POSITIVE_INFINITY;
    const failedSoFar = () => viewers.slice(first).filter((v) => v.state === 'failed').length;
    const worker = async () => {
      while (next < end) {
        const index = next++;
        if (failedSoFar() >= limit) {
          const skipped = new SkippedViewer(index);
          skipped.fail(`not attempted: ${limit} viewers had failed`);
          viewers.push(skipped);
          continue;
        }
        await openOne(index, options);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.count, options.concurrency ?? DEFAULT_CONCURRENCY)) }, worker));
  },

  async stats(): Promise<PageStats> {
    const at = performance.now();
    const list = await Promise.all(
      viewers.map((v) =>
        v.stats().catch((error: unknown) => ({
          index: v.index, state: 'failed', error: `stats: ${message(error)}`, remark: null, packetsReceived: 0, packetsLost: 0, bytesReceived: 0, framesDecoded: null, nackCount: 0, pliCount: 0, firstPacketMs: null,
        })),
      ),
    );
    return { at, viewers: list };
  },

  async close(): Promise<void> {
    const all = viewers.splice(0);
    await Promise.all(all.map((v) => v.close().catch(() => undefined)));
    const session = janusSession;
    janusSession = undefined;
    if (session) {
      await session
        .then((s) => new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 3000);
          s.destroy({ success: () => { clearTimeout(timer); resolve(); }, error: () => { clearTimeout(timer); resolve(); } });
        }))
        .catch(() => undefined);
    }
  },
};

export type BenchLoadApi = typeof api;

(window as unknown as { c5BenchLoad: BenchLoadApi }).c5BenchLoad = api;
