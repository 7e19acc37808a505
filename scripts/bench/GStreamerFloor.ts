/**
 * The latency floor (benchmarks only): a native GStreamer decoder of the camera's RTSP mount, no
 * browser, no WebRTC, no server in between:
 *
 *   gst-launch-1.0 -q rtspsrc location=URL latency=0 ! rtph264depay ! avdec_h264 ! videoconvert
 *     ! video/x-raw,format=GRAY8 ! videocrop bottom=H-32 ! fdsink fd=3 sync=false
 *
 * The top 32 rows of every decoded frame (the simulator's clock stamp and camera tag,
 * test/support/frames.ts) arrive as raw 8-bit luma on a pipe (fd 3); Node reads the stamp and tag of
 * each frame and notes Date.now() when the frame's last byte arrived. That is how early a decoder
 * on this machine can have the frame, so it is the floor for any viewer of the same camera:
 * what C5 Live adds on top of it is the distance from the floor.
 *
 *   const floor = await GStreamerFloor.start({ rtspUrl, width: 640, height: 360 });
 *   await floor.firstFrame(30_000); ... floor.frames ... await floor.close();
 *
 * The process is spawned with an argument array (no shell) under `setpriv --pdeathsig KILL` (it
 * dies with us), in its own process group; close() SIGTERMs the group, then SIGKILLs it.
 * avdec_h264 runs single-threaded (max-threads=1): frame threading would hold frames back by the
 * number of threads; at these sizes one thread decodes a frame in a few ms.
 *
 * Debian packages: gstreamer1.0-tools, gstreamer1.0-plugins-good (rtspsrc, rtph264depay, videocrop),
 * gstreamer1.0-plugins-base (videoconvert), gstreamer1.0-libav (avdec_h264).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { MARK, decodeStamp, decodeTag } from '../../test/support/frames.ts';
import type { PageFrame } from './sampler.ts';
import { sleep } from './host.ts';

const GST_LAUNCH = process.env.GST_LAUNCH_BIN ?? '/usr/bin/gst-launch-1.0';
const GST_INSPECT = process.env.GST_INSPECT_BIN ?? '/usr/bin/gst-inspect-1.0';
const SETPRIV = '/usr/bin/setpriv';
/** Rows kept of each frame: the clock stamp (0..15) and the tag (16..31). */
const ROWS = MARK.tagRow + MARK.blockHeight;

export interface GStreamerFloorOptions {
  rtspUrl: string;
  width: number;
  height: number;
  /** RTSP lower transport; default: rtspsrc's own choice (UDP first on loopback). */
  protocols?: 'udp' | 'tcp';
}

export class GStreamerFloor {
  /** Every decoded frame: Date.now() when its rows had arrived, and the stamp and tag read from them. */
  readonly frames: PageFrame[] = [];
  /** Date.now() just before gst-launch was spawned (the floor's "navigation start"). */
  readonly startedAt: number;
  #closing: Promise<void> | undefined;
  readonly #tail: string[] = [];
  #exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
    startedAt: number,
  ) {
    this.startedAt = startedAt;
  }

  /** Whether gst-launch and the elements the floor needs are on this machine (a reason when not). */
  static missing(): string | undefined {
    if (!existsSync(GST_LAUNCH)) return `${GST_LAUNCH} missing (apt-get install gstreamer1.0-tools)`;
    for (const [element, pkg] of [['rtspsrc', 'gstreamer1.0-plugins-good'], ['avdec_h264', 'gstreamer1.0-libav'], ['videocrop', 'gstreamer1.0-plugins-good']] as const) {
      const r = spawnSync(GST_INSPECT, ['--exists', element], { timeout: 10_000 });
      if (r.status !== 0) return `GStreamer element ${element} missing (apt-get install ${pkg})`;
    }
    return undefined;
  }

  static start(opts: GStreamerFloorOptions): GStreamerFloor {
    const { width, height } = opts;
    if (height < ROWS) throw new RangeError(`frame height ${height} < ${ROWS}`);
    const args = [
      '-q',
      'rtspsrc', `location=${opts.rtspUrl}`, 'latency=0', ...(opts.protocols ? [`protocols=${opts.protocols}`] : []),
      '!', 'rtph264depay',
      '!', 'avdec_h264', 'max-threads=1',
      '!', 'videoconvert',
      '!', `video/x-raw,format=GRAY8,width=${width},height=${height}`,
      '!', 'videocrop', `bottom=${height - ROWS}`,
      '!', 'fdsink', 'fd=3', 'sync=false',
    ];
    const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'ignore', 'pipe', 'pipe'];
    const startedAt = Date.now();
    const child = existsSync(SETPRIV)
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', GST_LAUNCH, ...args], { stdio, detached: true })
      : spawn(GST_LAUNCH, args, { stdio, detached: true });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const floor = new GStreamerFloor(child, exited, startedAt);
    void exited.then(() => (floor.#exited = true));
    child.on('error', (error) => floor.#note(`spawn: ${error.message}`));
    child.stderr!.on('data', (chunk: Buffer) => {
      for (const raw of chunk.toString().split('\n')) {
        // rtspsrc prints its location (credentials included) in errors: redact user:pass@.
        const line = raw.replace(/(rtsps?:\/\/)[^/@\s]+@/gi, '$1***@').trimEnd();
        if (line) floor.#note(line);
      }
    });
    const frameBytes = width * ROWS;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    (child.stdio[3] as Readable).on('data', (chunk: Buffer) => {
      const at = Date.now();
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < frameBytes) return;
      let buf = Buffer.concat(pending, pendingBytes);
      while (buf.length >= frameBytes) {
        const img = { data: buf.subarray(0, frameBytes), width, height: ROWS, channels: 1 as const };
        floor.frames.push({ at, stamp: decodeStamp(img), tag: decodeTag(img) });
        buf = buf.subarray(frameBytes);
      }
      pending = buf.length ? [Buffer.from(buf)] : [];
      pendingBytes = buf.length;
    });
    return floor;
  }

  #note(line: string): void {
    this.#tail.push(line);
    if (this.#tail.length > 20) this.#tail.shift();
  }

  /** Resolves when a frame with `tag` has been decoded; rejects on timeout or when gst-launch exits. */
  async firstFrame(tag: number, timeoutMs: number): Promise<PageFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find((x) => x.tag === tag);
      if (f) return f;
      if (this.#exited) throw new Error(`gst-launch exited before the first frame: ${this.#tail.join(' | ') || 'no output'}`);
      if (Date.now() > deadline) throw new Error(`no frame with tag ${tag} within ${timeoutMs} ms (${this.frames.length} frames; ${this.#tail.join(' | ') || 'no output'})`);
      await sleep(10);
    }
  }

  /** Stops gst-launch (SIGTERM to its group, SIGKILL after 3 s). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const pid = this.child.pid;
      if (pid === undefined || this.#exited) return;
      const signal = (sig: NodeJS.Signals) => {
        try {
          process.kill(-pid, sig);
        } catch {
          try {
            process.kill(pid, sig);
          } catch {
            /* gone */
          }
        }
      };
      signal('SIGTERM');
      const done = await Promise.race([this.exited.then(() => true), sleep(3000).then(() => false)]);
      if (!done) {
        signal('SIGKILL');
        await Promise.race([this.exited, sleep(2000)]);
      }
    })();
    return this.#closing;
  }
}
