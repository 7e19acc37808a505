import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RtpTap } from './rtpTap.ts';

export interface StrictDecode {
  frames: number;
  /** Presentation time of every decoded frame, in `timeBase` units. */
  pts: number[];
  timeBase: number;
  /** MD5 of every decoded picture (identical consecutive ones: the camera sent the same picture twice). */
  md5: string[];
  /** ffmpeg's error output: empty when every frame decoded cleanly. */
  stderr: string;
  code: number | null;
}

export interface StrictDecodeOptions {
  /**
   * ffmpeg's RTP reorder queue (packets): 0 (the default, RtpTap.inputArgs) puts packets in the
   * decoder as they arrive; a browser's jitter buffer reorders, so a stream whose packets arrive out
   * of order is decoded with a queue (500 is ffmpeg's own default, waiting up to 100 ms for a gap).
   */
  reorderQueue?: number;
}

/** Whether a socket is bound to this UDP port, on any local address (/proc/net/udp). */
function udpBound(port: number): boolean {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    return readFileSync('/proc/net/udp', 'utf8').split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(suffix) ?? false);
  } catch {
    return true;
  }
}

/**
 * Decodes what a consumer of a feed (an RtpTap) receives for `seconds` with ffmpeg, failing on any
 * decoding error (-xerror); frames listed with framemd5.
 *
 * The consumer is paused until ffmpeg listens on the tap's port, then resumed: mediasoup then asks
 * for a keyframe and starts the consumer at one. Otherwise a camera that answers the new consumer's
 * keyframe request at once (GStreamer's RTSP server does) sends that keyframe before ffmpeg has
 * started, and the decoder begins with P-frames.
 */
// mediasoup sends a new consumer ~15 probation packets (SSRC 1234, payload type 127) first; ffmpeg
// does not filter by SSRC, and with a reorder queue it would take their sequence numbers for the
// stream's. The pause below keeps them from ffmpeg too: they go out before it listens.
export async function decodeStrict(tap: RtpTap, seconds: number, options: StrictDecodeOptions = {}): Promise<StrictDecode> {
  const port = Number(/^m=video (\d+) /m.exec(readFileSync(tap.sdpPath, 'utf8'))?.[1]);
  const pause = !tap.consumer.paused && Number.isInteger(port) && !udpBound(port);
  if (pause) await tap.consumer.pause();
  const decoding = run(tap, seconds, options);
  if (pause) {
    const deadline = Date.now() + 10_000;
    while (!udpBound(port) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await tap.consumer.resume();
  }
  return decoding;
}

function run(tap: RtpTap, seconds: number, options: StrictDecodeOptions): Promise<StrictDecode> {
  const input = [...RtpTap.inputArgs];
  const queue = input.indexOf('-reorder_queue_size');
  if (queue >= 0) input.splice(queue, 2);
  input.push('-reorder_queue_size', String(options.reorderQueue ?? 0));
  // With a queue, wait up to 1 s for a late packet (ffmpeg's default is 100 ms: a machine busy with
  // other tests delays packets more than that, and a missing one then fails the decode).
  if ((options.reorderQueue ?? 0) > 0) input.push('-max_delay', '1000000');
  // A 4 MiB socket buffer (the kernel's rmem_max here; the default is 208 KiB): a decoder starved of
  // CPU on a loaded machine must not lose packets on the last hop, which is the test's, not the relay's.
  input.push('-buffer_size', String(4 * 1024 * 1024));
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/ffmpeg',
      ['-hide_banner', '-v', 'error', '-xerror', ...input, '-i', tap.sdpPath, '-t', String(seconds), '-fps_mode', 'passthrough', '-copyts', '-enc_time_base', '-1', '-f', 'framemd5', '-'],
      { timeout: (seconds + 20) * 1000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const lines = stdout.split('\n').filter((line) => /^\d+,/.test(line));
        // framemd5: stream, dts, pts, duration, size, md5.
        const pts = lines.map((line) => Number(line.split(',')[2]));
        const md5 = lines.map((line) => (line.split(',')[5] ?? '').trim());
        // "#tb 0: 1/90000": seconds per pts unit.
        const tb = /^#tb 0: (\d+)\/(\d+)/m.exec(stdout);
        const timeBase = tb ? Number(tb[1]) / Number(tb[2]) : NaN;
        resolve({ frames: lines.length, pts, timeBase, md5, stderr, code: error ? ((error as { code?: number }).code ?? 1) : 0 });
      },
    );
  });
}
