import { execFile } from 'node:child_process';
import { RtpTap } from './rtpTap.ts';

export interface StrictDecode {
  frames: number;
  /** Presentation time of every decoded frame, in `timeBase` units. */
  pts: number[];
  timeBase: number;
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

/**
 * Decodes what a consumer of a feed (an RtpTap) receives for `seconds` with ffmpeg, failing on any
 * decoding error (-xerror); frames listed with framemd5.
 */
export function decodeStrict(tap: RtpTap, seconds: number, options: StrictDecodeOptions = {}): Promise<StrictDecode> {
  const input = [...RtpTap.inputArgs];
  const queue = input.indexOf('-reorder_queue_size');
  if (queue >= 0) input.splice(queue, 2);
  input.push('-reorder_queue_size', String(options.reorderQueue ?? 0));
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/ffmpeg',
      ['-hide_banner', '-v', 'error', '-xerror', ...input, '-i', tap.sdpPath, '-t', String(seconds), '-fps_mode', 'passthrough', '-copyts', '-enc_time_base', '-1', '-f', 'framemd5', '-'],
      { timeout: (seconds + 20) * 1000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const lines = stdout.split('\n').filter((line) => /^\d+,/.test(line));
        // framemd5: stream, dts, pts, duration, size, md5.
        const pts = lines.map((line) => Number(line.split(',')[2]));
        // "#tb 0: 1/90000": seconds per pts unit.
        const tb = /^#tb 0: (\d+)\/(\d+)/m.exec(stdout);
        const timeBase = tb ? Number(tb[1]) / Number(tb[2]) : NaN;
        resolve({ frames: lines.length, pts, timeBase, stderr, code: error ? ((error as { code?: number }).code ?? 1) : 0 });
      },
    );
  });
}
