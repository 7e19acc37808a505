import type { IngestFailureReason } from './IngestError.ts';

const patterns: Array<[RegExp, IngestFailureReason]> = [
  [/\b401\b|unauthori[sz]ed/i, 'unauthorized'],
  [/\b404\b|not found|\b454\b|session not found|no such file/i, 'not_found'],
  [/timed? ?out|timeout|\b408\b/i, 'timeout'],
  [/connection refused|no route to host|network is unreachable|host is unreachable|name or service not known|failed to resolve|\b503\b|connection reset|end of file|broken pipe/i, 'unreachable'],
  [/codec not currently supported|unsupported codec|could not find codec|decoder .* not found|invalid data found/i, 'unsupported_codec'],
];

/** Maps an ffmpeg/ffprobe stderr line (already redacted) to a failure reason, or undefined if it says none. */
export function classifyFfmpegError(line: string): IngestFailureReason | undefined {
  for (const [pattern, reason] of patterns) {
    if (pattern.test(line)) return reason;
  }
  return undefined;
}
