import type { IngestFailureReason } from './IngestError.ts';

// Status codes are RTSP's (RFC 2326 §7.1.1), as ffmpeg prints them: "method DESCRIBE failed: 401
// Unauthorized", "Server returned 404 Not Found".
const patterns: Array<[RegExp, IngestFailureReason]> = [
  [/\b401\b|unauthori[sz]ed/i, 'unauthorized'],
  [/\b404\b|not found|\b454\b|session not found|no such file/i, 'not_found'],
  [/timed? ?out|timeout|\b408\b/i, 'timeout'],
  [/connection refused|no route to host|network is unreachable|host is unreachable|name or service not known|failed to resolve|\b503\b|connection reset|end of file|broken pipe/i, 'unreachable'],
  [/codec not currently supported|unsupported codec|could not find codec|decoder .* not found|invalid data found/i, 'unsupported_codec'],
];

/**
 * URLs are removed before matching: ffmpeg echoes the camera's URL in its errors, and a URL's path
 * or query may hold anything (`/Streaming/Channels/401` is channel 4 on Hikvision cameras; the TCP
 * layer appends `?timeout=<us>` to its own URL).
 */
const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/\S*/gi;

/** Maps an ffmpeg/ffprobe stderr line (already redacted) to a failure reason, or undefined if it says none. */
export function classifyFfmpegError(line: string): IngestFailureReason | undefined {
  const text = line.replace(URL_PATTERN, '<url>');
  for (const [pattern, reason] of patterns) {
    if (pattern.test(text)) return reason;
  }
  return undefined;
}
