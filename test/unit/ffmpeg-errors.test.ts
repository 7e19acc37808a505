import { expect } from 'chai';
import { classifyFfmpegError } from '../../workers/classifyFfmpegError.ts';
import type { IngestFailureReason } from '../../workers/IngestError.ts';


// Every line below was printed by ffmpeg / ffprobe 5.1.9 (Debian 12, /usr/bin/ffmpeg) with the
// options the ingest uses (-loglevel error, -rtsp_transport tcp|udp, -timeout <us>), against
// closed ports, unresolvable names, unroutable addresses, bad files and a stub RTSP server
// answering each status code. Credentials in URLs are shown as the ingest sees them, redacted
// (`rtsp://***@...`). The test itself spawns nothing.

type Row = { line: string; reason: IngestFailureReason | undefined; why: string };

// Regressions kept below: ffmpeg's TCP layer echoes its own URL with `?timeout=<us>` in the connect
// error (once classified as a timeout), and Hikvision's channel-4 path /Streaming/Channels/401
// (once classified as unauthorized): URLs are not read for status words or codes.

const lines: Row[] = [
  // unauthorized
  { line: '[rtsp @ 0x5629fc36b980] method DESCRIBE failed: 401 Unauthorized', reason: 'unauthorized', why: 'DESCRIBE answered 401' },
  { line: 'rtsp://***@127.0.0.1:18551/Streaming/Channels/101: Server returned 401 Unauthorized (authorization failed)', reason: 'unauthorized', why: '401 summary line' },
  { line: '[rtsp @ 0x5555d04eb940] method OPTIONS failed: 401 Unauthorized', reason: 'unauthorized', why: 'OPTIONS answered 401 (camera authenticating every method)' },

  // not_found
  { line: '[rtsp @ 0x557f6e6c2980] method DESCRIBE failed: 404 Not Found', reason: 'not_found', why: 'DESCRIBE answered 404' },
  { line: 'rtsp://***@127.0.0.1:18552/Streaming/Channels/101: Server returned 404 Not Found', reason: 'not_found', why: '404 summary line' },
  { line: '[rtsp @ 0x5607a764b980] method DESCRIBE failed: 454 Session Not Found', reason: 'not_found', why: '454 Session Not Found' },
  { line: '/tmp/rtspcap/none.mp4: No such file or directory', reason: 'not_found', why: 'missing file input' },

  // timeout
  { line: '[tcp @ 0x55bb2aa0a900] Connection to tcp://[2001:db8::1]:554?timeout=2000000 failed: Connection timed out', reason: 'timeout', why: 'TCP connect timed out' },
  { line: 'rtsp://[2001:db8::1]/x: Connection timed out', reason: 'timeout', why: 'connect timeout summary line' },
  { line: '[rtsp @ 0x5602e949c980] method DESCRIBE failed: 408 Request Timeout', reason: 'timeout', why: 'DESCRIBE answered 408' },

  // unreachable
  { line: 'rtsp://127.0.0.1:1/x: Connection refused', reason: 'unreachable', why: 'closed port, summary line' },
  { line: 'rtsp://192.0.2.1/x: Connection refused', reason: 'unreachable', why: 'refused, address without port' },
  { line: '[tcp @ 0x55cd19b3e840] Failed to resolve hostname nosuchhost.invalid: Name or service not known', reason: 'unreachable', why: 'name resolution failure' },
  { line: '[rtsp @ 0x55774eca2980] method DESCRIBE failed: 503 Service Unavailable', reason: 'unreachable', why: 'DESCRIBE answered 503' },
  {
    line: '[tcp @ 0x55a7be33d840] Connection to tcp://127.0.0.1:1?timeout=3000000 failed: Connection refused',
    reason: 'unreachable',
    why: 'closed port, tcp layer line (tcp transport)',
  },
  {
    line: '[tcp @ 0x55f635cc7840] Connection to tcp://127.0.0.1:1?timeout=3000000 failed: Connection refused',
    reason: 'unreachable',
    why: 'closed port, tcp layer line (udp transport: RTSP itself is still TCP)',
  },
  { line: 'rtsp://127.0.0.1:1/Streaming/Channels/401: Connection refused', reason: 'unreachable', why: 'closed port, Hikvision channel 4 path' },

  // not_found hidden by the URL
  { line: 'rtsp://127.0.0.1:18710/Streaming/Channels/401: Server returned 404 Not Found', reason: 'not_found', why: '404 on the Hikvision channel 4 path' },

  // unsupported_codec
  { line: '[rtp @ 0x55c406805600] Unsupported codec prores', reason: 'unsupported_codec', why: 'RTP muxer refuses the codec' },
  { line: '[h264 @ 0x55dcc64ce180] Could not find codec parameters for stream 0 (Video: h264, none): unspecified size', reason: 'unsupported_codec', why: 'probe found no SPS' },
  { line: 'rtsp://***@127.0.0.1:18559/Streaming/Channels/101: Invalid data found when processing input', reason: 'unsupported_codec', why: 'SDP offering an unknown codec (a=rtpmap:96 FOOBAR/90000)' },
  { line: '/tmp/rtspcap/bad.mp4: Invalid data found when processing input', reason: 'unsupported_codec', why: 'not a media file' },
  // ffmpeg prints the same text when the server accepts the connection and then never answers
  // (after -timeout) or closes it: the classifier cannot tell these from a codec problem.
  { line: 'rtsp://127.0.0.1:18730/live: Invalid data found when processing input', reason: 'unsupported_codec', why: 'silent RTSP server (limitation: ffmpeg text is ambiguous)' },

  // no reason of their own (a previous line's reason stands, or the run is 'exited')
  { line: 'rtsp://***@127.0.0.1:18553/Streaming/Channels/101: Server returned 4XX Client Error, but not one of 40{0,1,3,4}', reason: undefined, why: 'summary after 454/408' },
  { line: 'rtsp://***@127.0.0.1:18554/Streaming/Channels/101: Server returned 5XX Server Error reply', reason: undefined, why: 'summary after 503' },
  { line: 'rtsp://nosuchhost.invalid/x: Input/output error', reason: undefined, why: 'summary after a resolution failure' },
  { line: 'rtsp://127.0.0.1:18723/live: Server returned 403 Forbidden (access denied)', reason: undefined, why: '403 (no reason today; see report)' },
  { line: '[rtsp @ 0x5598cd28d980] method DESCRIBE failed: 403 Forbidden', reason: undefined, why: 'DESCRIBE answered 403' },
  { line: '[rtsp @ 0x55fcf0aef980] method SETUP failed: 461 Unsupported Transport', reason: undefined, why: 'camera refuses UDP' },
  { line: 'rtsp://127.0.0.1:18721/live: Protocol not supported', reason: undefined, why: 'summary after 461' },
  { line: '[tcp @ 0x55bb2aa0a900] Connection to tcp://[fe80::1]:554?timeout=2000000 failed: Invalid argument', reason: undefined, why: 'link-local address without a scope' },
  { line: '[h264 @ 0x55aa6875b480] non-existing PPS 0 referenced', reason: undefined, why: 'decoder noise' },
  { line: "Consider increasing the value for the 'analyzeduration' (0) and 'probesize' (5000000) options", reason: undefined, why: 'probe advice' },
  { line: '', reason: undefined, why: 'empty line' },
];

describe('classifyFfmpegError: one stderr line', () => {
  for (const row of lines) {
    const title = `${row.why} -> ${row.reason ?? 'no reason'}`;
    it(title, () => {
      expect(classifyFfmpegError(row.line), row.line).to.equal(row.reason);
    });
  }

  it('is case-insensitive and accepts the British spelling', () => {
    expect(classifyFfmpegError('SERVER RETURNED 401 UNAUTHORIZED')).to.equal('unauthorized');
    expect(classifyFfmpegError('camera says: unauthorised')).to.equal('unauthorized');
  });
});

// How the two call sites use the classifier on a whole run's stderr (the same real outputs):
//  - probeCamera classifies the whole (redacted) stderr text at once: the first pattern that
//    matches anywhere wins;
//  - FfmpegIngest classifies line by line and keeps the last line that had a reason.
const runs: Array<{ name: string; stderr: string[]; reason: IngestFailureReason}> = [
  {
    name: 'closed port',
    stderr: ['[tcp @ 0x55c079ff4140] Connection to tcp://127.0.0.1:1?timeout=3000000 failed: Connection refused', 'rtsp://127.0.0.1:1/x: Connection refused'],
    reason: 'unreachable',
  },
  {
    name: 'unresolvable host',
    stderr: ['[tcp @ 0x55cd19b3e840] Failed to resolve hostname nosuchhost.invalid: Name or service not known', 'rtsp://nosuchhost.invalid/x: Input/output error'],
    reason: 'unreachable',
  },
  {
    name: 'connect timeout',
    stderr: ['[tcp @ 0x55bb2aa0a900] Connection to tcp://[2001:db8::1]:554?timeout=2000000 failed: Connection timed out', 'rtsp://[2001:db8::1]/x: Connection timed out'],
    reason: 'timeout',
  },
  {
    name: '401',
    stderr: ['[rtsp @ 0x565bcd7b280] method DESCRIBE failed: 401 Unauthorized', 'rtsp://127.0.0.1:18551/Streaming/Channels/101: Server returned 401 Unauthorized (authorization failed)'],
    reason: 'unauthorized',
  },
  {
    name: '404',
    stderr: ['[rtsp @ 0x55c7015c4280] method DESCRIBE failed: 404 Not Found', 'rtsp://127.0.0.1:18552/Streaming/Channels/101: Server returned 404 Not Found'],
    reason: 'not_found',
  },
  {
    name: '454',
    stderr: ['[rtsp @ 0x55c224fc5280] method DESCRIBE failed: 454 Session Not Found', 'rtsp://127.0.0.1:18553/Streaming/Channels/101: Server returned 4XX Client Error, but not one of 40{0,1,3,4}'],
    reason: 'not_found',
  },
  {
    name: '503',
    stderr: ['[rtsp @ 0x55f45e0d8280] method DESCRIBE failed: 503 Service Unavailable', 'rtsp://127.0.0.1:18554/Streaming/Channels/101: Server returned 5XX Server Error reply'],
    reason: 'unreachable',
  },
  {
    name: 'closed port, Hikvision channel 4',
    stderr: ['[tcp @ 0x559ab37fb840] Connection to tcp://127.0.0.1:1?timeout=5000000 failed: Connection refused', 'rtsp://127.0.0.1:1/Streaming/Channels/401: Connection refused'],
    reason: 'unreachable',
  },
  {
    name: '404, Hikvision channel 4',
    stderr: ['[rtsp @ 0x562cf49a5980] method DESCRIBE failed: 404 Not Found', 'rtsp://127.0.0.1:18710/Streaming/Channels/401: Server returned 404 Not Found'],
    reason: 'not_found',
  },
];

describe('classifyFfmpegError: a whole run, as the call sites use it', () => {
  for (const run of runs) {
    it(`probe (whole stderr): ${run.name} -> ${run.reason}`, () => {
      expect(classifyFfmpegError(run.stderr.join('\n'))).to.equal(run.reason);
    });
    it(`ingest (last line with a reason): ${run.name} -> ${run.reason}`, () => {
      // FfmpegIngest: lastReason = classifyFfmpegError(line) ?? lastReason, for each stderr line.
      const last = run.stderr.reduce<IngestFailureReason | undefined>((reason, line) => classifyFfmpegError(line) ?? reason, undefined);
      expect(last).to.equal(run.reason);
    });
  }
});
