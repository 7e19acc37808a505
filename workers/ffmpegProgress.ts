import type { Readable } from 'node:stream';

/** One block of ffmpeg's `-progress` output: frames so far, frame rate (frames/s) and bit rate (kbit/s). */
export interface FfmpegProgressReport {
  frames: number;
  fps: number;
  kbps: number;
}

/**
 * Reads ffmpeg's `-progress` stream (`key=value` lines, each block ending with `progress=...`) and
 * calls `onReport` once per block. ffmpeg reports no bit rate for RTP output with `-c copy`
 * (`bitrate=N/A`): the rate then comes from `total_size` between two blocks.
 */
export function readFfmpegProgress(stream: Readable, onReport: (report: FfmpegProgressReport) => void): void {
  let block: Record<string, string> = {};
  let lastBytes = 0;
  readLines(stream, (line) => {
    const eq = line.indexOf('=');
    if (eq < 0) return;
    const key = line.slice(0, eq).trim();
    block[key] = line.slice(eq + 1).trim();
    if (key !== 'progress') return;
    const bytes = Number(block.total_size ?? 0) || 0;
    const kbps = Number.parseFloat(block.bitrate ?? '');
    const report = {
      frames: Number(block.frame ?? 0) || 0,
      fps: Number.parseFloat(block.fps ?? '') || 0,
      kbps: Number.isFinite(kbps) ? kbps : Math.max(0, Math.round(((bytes - lastBytes) * 8) / 1000)),
    };
    lastBytes = bytes;
    block = {};
    onReport(report);
  });
}

/** Calls `onLine` with each whole line of a text stream (UTF-8; a last line without its newline is kept until one comes). */
export function readLines(stream: Readable, onLine: (line: string) => void): void {
  stream.setEncoding('utf8');
  let buffer = '';
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
}
