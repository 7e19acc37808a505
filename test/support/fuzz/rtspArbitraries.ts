/**
 * Generated camera behaviour for fuzzing our RTSP client: RTSP responses (status lines, headers and
 * bodies, right and wrong), SDPs with hostile fields and sprop-parameter-sets, and interleaved bytes
 * after PLAY (frames on unknown channels, lengths that lie, noise, a response in the middle).
 */
import fc from 'fast-check';
import { hostileString } from './arbitraries.ts';
import type { CameraScript } from './HostileCamera.ts';

const status = fc.oneof(
  { weight: 6, arbitrary: fc.constant(200) },
  { weight: 4, arbitrary: fc.constantFrom(301, 302, 401, 403, 404, 453, 454, 461, 500, 501, 503) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 1200 }) },
);

const statusLine = fc.oneof(
  { weight: 8, arbitrary: status.map((code) => `RTSP/1.0 ${code} Reason`) },
  { weight: 1, arbitrary: fc.constantFrom('RTSP/2.0 200 OK', 'HTTP/1.1 200 OK', 'RTSP/1.0 200', 'rtsp/1.0 200 ok', 'RTSP/1.0  200 OK', 'GET_PARAMETER * RTSP/1.0', 'OPTIONS rtsp://x RTSP/1.0') },
  { weight: 1, arbitrary: hostileString },
);

const smallInt = fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(-1, 2 ** 31, 2 ** 53, 1e21));
const cseq = fc.oneof({ weight: 8, arbitrary: fc.constant('{cseq}') }, { weight: 2, arbitrary: fc.oneof(smallInt.map(String), hostileString) });
const contentLength = fc.oneof({ weight: 8, arbitrary: fc.constant('{len}') }, { weight: 2, arbitrary: fc.oneof(smallInt.map(String), hostileString, fc.constant('')) });
const token = fc.stringMatching(/^[0-9A-Za-z._-]{0,40}$/);
/** Mostly plausible, sometimes hostile (line breaks included): so most cases get past the header parser. */
const rarelyHostile = fc.oneof({ weight: 5, arbitrary: token }, { weight: 1, arbitrary: hostileString });
const session = fc.oneof(
  token.map((id) => `${id || '1'}`),
  fc.tuple(token, smallInt).map(([id, timeout]) => `${id};timeout=${timeout}`),
  rarelyHostile,
);
const transport = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 })).map(([a, b]) => `RTP/AVP/TCP;unicast;interleaved=${a}-${b}`),
  fc.tuple(smallInt, smallInt).map(([a, b]) => `RTP/AVP;unicast;client_port=${a}-${b};server_port=${b}-${a};ssrc=${a.toString(16)}`),
  fc.constantFrom('RTP/AVP/TCP;unicast', 'RTP/AVP;multicast', '', 'interleaved=0', 'RTP/AVP/TCP;interleaved=a-b'),
  rarelyHostile,
);
const authParams = fc.array(fc.tuple(fc.constantFrom('realm', 'nonce', 'qop', 'algorithm', 'stale', 'opaque', 'domain', 'x'), rarelyHostile, fc.boolean()), { maxLength: 6 });
const wwwAuthenticate = fc.oneof(
  fc.tuple(fc.constantFrom('Digest', 'Basic', 'digest', 'Bearer', 'Digest,', ''), authParams).map(([scheme, params]) =>
    `${scheme} ${params.map(([k, v, quoted]) => (quoted ? `${k}="${v.replace(/["\\]/g, '')}"` : `${k}=${v}`)).join(', ')}`,
  ),
  fc.constantFrom('Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"', 'Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth-int"', 'Basic realm="cam"', 'Digest realm="r", nonce="n", stale=true'),
  rarelyHostile,
);
const location = fc.oneof(
  fc.constantFrom('/stream', '/other', 'rtsp://127.0.0.1:1/x', 'rtsps://localhost/x', 'http://127.0.0.1/', 'rtsp://user:pw@127.0.0.1/x', '//evil/x', 'rtsp://[::1', ''),
  rarelyHostile,
);
const header = fc.oneof(
  { weight: 3, arbitrary: session.map((v) => ['Session', v] as const) },
  { weight: 3, arbitrary: transport.map((v) => ['Transport', v] as const) },
  { weight: 3, arbitrary: wwwAuthenticate.map((v) => ['WWW-Authenticate', v] as const) },
  { weight: 2, arbitrary: location.map((v) => ['Location', v] as const) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('Content-Base', 'Content-Location'), location) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Content-Type', 'Public', 'RTP-Info', 'Range', 'Retry-After'), rarelyHostile) },
  { weight: 1, arbitrary: fc.tuple(hostileString, hostileString).map(([n, v]) => [n, v] as const) },
);

const base64Bytes = fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes).toString('base64'));
/** A real SPS (libx264, from test/unit/h264-sps.test.ts) and a PPS, so some cases get past parameter-set parsing. */
const REAL_SPROP = 'Z0LAHtkAoD2wEQAAAwABAAADADIPFi5I,aMuMsg==';
const fmtp = fc.array(
  fc.oneof(
    fc.constant(`sprop-parameter-sets=${REAL_SPROP}`),
    fc.array(base64Bytes, { maxLength: 3 }).map((sets) => `sprop-parameter-sets=${sets.join(',')}`),
    fc.stringMatching(/^[0-9a-fA-F]{0,8}$/).map((v) => `profile-level-id=${v}`),
    fc.constantFrom('packetization-mode=1', 'packetization-mode=9', ''),
    hostileString,
  ),
  { maxLength: 4 },
).map((parts) => parts.join(';'));
const media = fc.record({
  type: fc.oneof(fc.constantFrom('video', 'audio', 'application'), token),
  port: fc.oneof(fc.constant('0'), smallInt.map(String), rarelyHostile),
  formats: fc.oneof(fc.constant('96'), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 4 }).map((f) => f.join(' '))),
  rtpmap: fc.oneof(fc.constant('96 H264/90000'), fc.constantFrom('96 H265/90000', '0 PCMU/8000', '96 H264', '96 /90000', '96 H264/0', '96 H264/-1'), rarelyHostile),
  fmtp,
  control: fc.oneof(fc.constantFrom('trackID=0', '*', 'rtsp://127.0.0.1:1/t', '/abs', '', '?q=1', '../..'), rarelyHostile),
});
const sdp = fc.tuple(fc.array(media, { minLength: 1, maxLength: 3 }), fc.oneof(fc.constant(''), fc.constantFrom('a=control:*', 'a=control:rtsp://127.0.0.1:1/', 'a=range:npt=0-'), rarelyHostile), fc.constantFrom('\r\n', '\n')).map(
  ([medias, sessionLine, eol]) =>
    [
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=fuzz',
      'c=IN IP4 0.0.0.0',
      't=0 0',
      sessionLine,
      ...medias.flatMap((m) => [`m=${m.type} ${m.port} RTP/AVP ${m.formats}`, `a=rtpmap:${m.rtpmap}`, `a=fmtp:96 ${m.fmtp}`, `a=control:${m.control}`]),
      '',
    ].join(eol),
);
const body = fc.oneof(
  { weight: 5, arbitrary: sdp.map((text) => Buffer.from(text, 'utf8')) },
  { weight: 1, arbitrary: hostileString.map((text) => Buffer.from(text, 'utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 2, arbitrary: fc.constant(Buffer.alloc(0)) },
);

/** One generated RTSP response: a status line, headers (CSeq and Content-Length usually right), a body. */
export const rtspResponse = fc
  .record({
    line: statusLine,
    cseq,
    contentLength,
    headers: fc.array(header, { maxLength: 6 }),
    body,
    eol: fc.constantFrom('\r\n', '\r\n', '\n'),
    duplicateLength: fc.boolean(),
  })
  .map(({ line, cseq, contentLength, headers, body, eol, duplicateLength }) => {
    const lines = [line, `CSeq: ${cseq}`, ...headers.map(([name, value]) => `${name}: ${value}`)];
    if (body.length > 0 || contentLength !== '{len}') lines.push(`Content-Length: ${contentLength}`);
    if (duplicateLength) lines.push('Content-Length: 7');
    return { head: `${lines.join(eol)}${eol}${eol}`, body };
  });

/** Sizes bytes are cut into on the wire: whole, one byte at a time, or random splits. */
const chunks: fc.Arbitrary<number[]> = fc.oneof(fc.constant<number[]>([]), fc.constant<number[]>([1]), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }));

/** Cameras answering every request with generated responses. */
export const hostileResponses: fc.Arbitrary<CameraScript> = fc.record({ answers: fc.array(rtspResponse, { minLength: 1, maxLength: 4 }), after: fc.constant([]), chunks });

const sane = (head: string, text = ''): { head: string; body: Buffer } => ({ head, body: Buffer.from(text) });
const SANE_SDP = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=x', 't=0 0', 'm=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000', `a=fmtp:96 packetization-mode=1;sprop-parameter-sets=${REAL_SPROP}`, 'a=control:trackID=0', ''].join('\r\n');
const frame = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 0, maxLength: 1400 })).map(([channel, payload]) => Buffer.concat([Buffer.from([0x24, channel, payload.length >> 8, payload.length & 0xff]), Buffer.from(payload)])) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 200 })).map(([channel, length, payload]) => Buffer.concat([Buffer.from([0x24, channel, length >> 8, length & 0xff]), Buffer.from(payload)])) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: rtspResponse.map(({ head, body }) => Buffer.concat([Buffer.from(head.replaceAll('{cseq}', '3').replaceAll('{len}', String(body.length)), 'latin1'), body])) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from('$'), Buffer.from('\r\n'), Buffer.from('RTSP/1.0')) },
);

/** Cameras that play properly, then send generated interleaved bytes. */
export const hostileInterleaved: fc.Arbitrary<CameraScript> = fc.record({
  answers: fc.constant([
    sane(`RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n`, SANE_SDP),
    sane('RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 12345678;timeout=60\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n'),
    sane('RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 12345678\r\n\r\n'),
  ]),
  after: fc.array(frame, { minLength: 1, maxLength: 12 }),
  chunks,
});
