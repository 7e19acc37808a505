/**
 * Frame helpers for tests: grab decoded frames with ffmpeg, decode the simulator's clock stamp and
 * camera tag from pixels, probe streams with ffprobe.
 *
 * Frame marks drawn by scripts/camsim/camsim.py (and the FINDINGS.md ffmpeg geq sender):
 *   - clock stamp: Date.now() mod 2^32 as 32 blocks of 20x16 px in rows 0..15, LSB left;
 *   - camera tag: a 16-bit number as 16 blocks of 20x16 px in rows 16..31, LSB left.
 * A block is 1 when its centre is bright (brightness over R, G and B, threshold 128). The decoders
 * below are pure functions over a pixel buffer, so a browser test can run them on canvas ImageData
 * ({ data, width, height, channels: 4 }).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const MARK = {
  blockWidth: 20,
  blockHeight: 16,
  stampBits: 32,
  stampRow: 0,
  tagBits: 16,
  tagRow: 16,
} as const;

/** Interleaved 8-bit pixels: 1 = gray (Y), 3 = RGB, 4 = RGBA (canvas ImageData). */
export interface PixelBuffer {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

export interface GrabbedFrame extends PixelBuffer {
  /** Date.now() when the frame had fully arrived from ffmpeg. */
  receivedAt: number;
}

/** Brightness 0..255 of one pixel (mean of R, G, B; alpha ignored). */
export function brightnessAt(img: PixelBuffer, x: number, y: number): number {
  const i = (y * img.width + x) * img.channels;
  const d = img.data;
  if (img.channels === 1) return d[i] ?? 0;
  return ((d[i] ?? 0) + (d[i + 1] ?? 0) + (d[i + 2] ?? 0)) / 3;
}

/** Reads `bits` blocks (LSB left) whose top edge is `row`; returns an unsigned integer. */
export function readBlocks(img: PixelBuffer, row: number, bits: number): number {
  const { blockWidth, blockHeight } = MARK;
  if (img.width < bits * blockWidth || img.height < row + blockHeight) {
    throw new RangeError(`frame ${img.width}x${img.height} too small for ${bits} blocks at row ${row}`);
  }
  const expected = img.width * img.height * img.channels;
  if (img.data.length < expected) throw new RangeError(`pixel buffer has ${img.data.length} bytes, expected ${expected}`);
  const y = row + blockHeight / 2;
  let value = 0;
  for (let i = 0; i < bits; i++) {
    const x = i * blockWidth + blockWidth / 2;
    if (brightnessAt(img, x, y) >= 128) value += 2 ** i;
  }
  return value;
}

/** The clock stamp: sender's Date.now() mod 2^32. */
export function decodeStamp(img: PixelBuffer): number {
  return readBlocks(img, MARK.stampRow, MARK.stampBits);
}

/** The camera tag (the `tag` of the camera in the simulator config). */
export function decodeTag(img: PixelBuffer): number {
  return readBlocks(img, MARK.tagRow, MARK.tagBits);
}

/** Age in ms of a stamp relative to `nowMs` (wrap-safe; negative if the stamp is in the future). */
export function stampAgeMs(stamp: number, nowMs: number = Date.now()): number {
  const M = 2 ** 32;
  let d = (((nowMs % M) - stamp) % M + M) % M;
  if (d >= M / 2) d -= M;
  return d;
}

// ---------------------------------------------------------------------------------------------
// ffmpeg / ffprobe
// ---------------------------------------------------------------------------------------------

export function ffmpegPath(): string {
  for (const p of [process.env.FFMPEG_PATH, process.env.FFMPEG_BIN, '/usr/bin/ffmpeg']) {
    if (p && existsSync(p)) return p;
  }
  return 'ffmpeg';
}

export function ffprobePath(): string {
  const ff = ffmpegPath();
  if (path.isAbsolute(ff)) {
    const probe = path.join(path.dirname(ff), 'ffprobe');
    if (existsSync(probe)) return probe;
  }
  return existsSync('/usr/bin/ffprobe') ? '/usr/bin/ffprobe' : 'ffprobe';
}

const SETPRIV = '/usr/bin/setpriv';

/** Spawn argv so that the child dies with us (setpriv --pdeathsig KILL when available). */
function spawnBounded(cmd: string, args: string[]) {
  if (existsSync(SETPRIV)) {
    return spawn(SETPRIV, ['--pdeathsig', 'KILL', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  return spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

export class ToolError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly exitCode: number | null,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

export interface InputOptions {
  /** RTSP lower transport (only for rtsp:// inputs). Default tcp. */
  transport?: 'tcp' | 'udp';
  /** Whole run is killed (SIGKILL) after this many ms. Default 20000. */
  timeoutMs?: number;
  /** Extra input options placed before -i. */
  inputArgs?: string[];
}

function inputArgs(input: string, opts: InputOptions): string[] {
  const args: string[] = [];
  if (/^rtsps?:\/\//i.test(input)) {
    // -timeout: socket I/O timeout in microseconds (ffmpeg 5.1 rtsp demuxer)
    args.push('-rtsp_transport', opts.transport ?? 'tcp', '-timeout', '5000000');
  }
  args.push(...(opts.inputArgs ?? []), '-i', input);
  return args;
}

function redact(s: string): string {
  return s.replace(/(rtsps?:\/\/)[^@/\s]*@/gi, '$1***@');
}

interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs a tool to completion with a kill timer; rejects with a ToolError carrying stderr's tail. */
function run(cmd: string, args: string[], timeoutMs: number, onStdout?: (chunk: Buffer) => boolean): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnBounded(cmd, args);
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    let stopped = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (stopped) return;
      if (onStdout) {
        if (onStdout(chunk)) {
          stopped = true;
          child.kill('SIGKILL');
        }
      } else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-8000);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stderr = redact(err.trim());
      const name = path.basename(cmd);
      if (stopped) resolve({ stdout: Buffer.concat(out), stderr });
      else if (timedOut) reject(new ToolError(`${name} timed out after ${timeoutMs} ms: ${stderr.slice(-500)}`, stderr, code, true));
      else if (code !== 0) reject(new ToolError(`${name} exited with ${code}: ${stderr.slice(-500)}`, stderr, code, false));
      else resolve({ stdout: Buffer.concat(out), stderr });
    });
  });
}

/** Incremental parser for a stream of binary PNM images (P5 gray, P6 rgb) as ffmpeg writes them. */
class PnmStream {
  private buf: Buffer = Buffer.alloc(0);
  frames: GrabbedFrame[] = [];

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const f = this.next();
      if (!f) break;
      this.frames.push(f);
    }
  }

  private next(): GrabbedFrame | null {
    const b = this.buf;
    const tokens: string[] = [];
    let i = 0;
    while (tokens.length < 4) {
      while (i < b.length && /\s/.test(String.fromCharCode(b[i] ?? 0))) i++;
      const start = i;
      while (i < b.length && !/\s/.test(String.fromCharCode(b[i] ?? 0))) i++;
      if (i >= b.length) return null;
      tokens.push(b.subarray(start, i).toString('latin1'));
    }
    i++; // single whitespace after maxval
    const [magic, w, h, maxval] = tokens;
    if ((magic !== 'P5' && magic !== 'P6') || maxval !== '255') throw new Error(`unexpected PNM header ${tokens.join(' ')}`);
    const width = Number(w);
    const height = Number(h);
    const channels = magic === 'P5' ? 1 : 3;
    const size = width * height * channels;
    if (b.length < i + size) return null;
    const data = new Uint8Array(b.subarray(i, i + size));
    this.buf = b.subarray(i + size);
    return { data, width, height, channels, receivedAt: Date.now() };
  }
}

export interface GrabOptions extends InputOptions {
  /** 'gray' gives the Y plane (1 channel), 'rgb' gives RGB (3 channels). Default gray. */
  format?: 'gray' | 'rgb';
  /** Number of decoded frames to read; the last one is returned. Default 1. */
  frames?: number;
}

/**
 * Reads decoded frames from an RTSP URL (or any ffmpeg input) and returns the last of
 * `opts.frames`, with the time it arrived. Bounded by opts.timeoutMs (kill timer).
 */
export async function grabFrames(input: string, opts: GrabOptions = {}): Promise<GrabbedFrame[]> {
  const count = opts.frames ?? 1;
  const codec = (opts.format ?? 'gray') === 'gray' ? 'pgm' : 'ppm';
  const pix = codec === 'pgm' ? 'gray' : 'rgb24';
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-fflags', 'nobuffer', '-flags', 'low_delay',
    ...inputArgs(input, opts),
    '-an', '-frames:v', String(count), '-pix_fmt', pix, '-c:v', codec, '-f', 'image2pipe', '-',
  ];
  const parser = new PnmStream();
  await run(ffmpegPath(), args, opts.timeoutMs ?? 20000, (chunk) => {
    parser.push(chunk);
    return parser.frames.length >= count;
  });
  if (parser.frames.length === 0) throw new Error(`no frame decoded from ${redact(input)}`);
  return parser.frames;
}

export async function grabFrame(input: string, opts: GrabOptions = {}): Promise<GrabbedFrame> {
  const frames = await grabFrames(input, opts);
  const last = frames[frames.length - 1];
  if (!last) throw new Error('no frame');
  return last;
}

export interface ProbeResult {
  codec: string;
  width: number;
  height: number;
  /** from r_frame_rate */
  fps: number;
  profile: string | null;
  hasBFrames: number;
  pixFmt: string | null;
  /** pict_type of the first decoded frames ('I', 'P', 'B'), when opts.frames > 0 */
  frameTypes?: string[];
}

export interface ProbeOptions extends InputOptions {
  /** Also decode this many frames and report their pict_type. */
  frames?: number;
}

function parseRate(r: unknown): number {
  if (typeof r !== 'string') return NaN;
  const [n, d] = r.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n)) return NaN;
  return d ? n / d : n;
}

/** ffprobe the first video stream. Rejects with a ToolError (stderr contains e.g. "401 Unauthorized"). */
export async function probe(input: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const args = [
    '-hide_banner', '-loglevel', 'error', ...inputArgs(input, opts),
    '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,profile,width,height,r_frame_rate,has_b_frames,pix_fmt' +
      (opts.frames ? ':frame=pict_type' : ''),
    ...(opts.frames ? ['-show_frames', '-read_intervals', `%+#${opts.frames}`] : []),
    '-of', 'json',
  ];
  const { stdout } = await run(ffprobePath(), args, opts.timeoutMs ?? 20000);
  const json = JSON.parse(stdout.toString()) as {
    streams?: Array<Record<string, unknown>>;
    frames?: Array<Record<string, unknown>>;
  };
  const s = json.streams?.[0];
  if (!s) throw new Error(`no video stream in ${redact(input)}`);
  const result: ProbeResult = {
    codec: String(s.codec_name),
    width: Number(s.width),
    height: Number(s.height),
    fps: parseRate(s.r_frame_rate),
    profile: typeof s.profile === 'string' ? s.profile : null,
    hasBFrames: Number(s.has_b_frames ?? 0),
    pixFmt: typeof s.pix_fmt === 'string' ? s.pix_fmt : null,
  };
  if (opts.frames) result.frameTypes = (json.frames ?? []).map((f) => String(f.pict_type));
  return result;
}
