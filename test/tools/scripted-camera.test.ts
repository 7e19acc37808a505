// Checks the ScriptedCamera test server itself, with clients that share no code with it: ffprobe/ffmpeg's
// RTSP client, and a minimal raw RTSP client over node:net written here.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { expect } from 'chai';
import { createSelfSignedCertificate } from '../support/certificates.ts';
import { ScriptedCamera, type AuthScheme, type ControlStyle, type ScriptedCameraOptions } from '../support/ScriptedCamera.ts';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

function withCredentials(url: string, username: string, password: string): string {
  return url.replace(/^(rtsps?:\/\/)/, `$1${encodeURIComponent(username)}:${encodeURIComponent(password)}@`);
}

async function probe(url: string, extra: string[] = []): Promise<{ code: number; stderr: string; streams: Array<Record<string, unknown>> }> {
  const result = await run('/usr/bin/ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', ...extra, '-show_streams', '-of', 'json', url]);
  let streams: Array<Record<string, unknown>> = [];
  try {
    streams = (JSON.parse(result.stdout) as { streams?: Array<Record<string, unknown>> }).streams ?? [];
  } catch {
    // no JSON: ffprobe failed
  }
  return { code: result.code, stderr: result.stderr, streams };
}

function header(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
}

interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

interface RawClient {
  socket: Socket;
  /** Interleaved frames received so far, by channel. */
  frames: Array<{ channel: number; payload: Buffer; at: number }>;
  request(method: string, uri: string, headers?: Array<[string, string]>): Promise<RawResponse>;
  closed: Promise<void>;
  close(): void;
}

/** A minimal RTSP client: one request at a time, collects interleaved `$` frames. */
function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let cseq = 0;
    let waiting: ((response: RawResponse) => void) | undefined;
    const frames: RawClient['frames'] = [];
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (buffer.length === 0) return;
        if (buffer[0] === 0x24) {
          if (buffer.length < 4) return;
          const length = buffer.readUInt16BE(2);
          if (buffer.length < 4 + length) return;
          frames.push({ channel: buffer[1] ?? -1, payload: Buffer.from(buffer.subarray(4, 4 + length)), at: Date.now() });
          buffer = buffer.subarray(4 + length);
          continue;
        }
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const headers: Array<[string, string]> = lines.slice(1).map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
        });
        const length = Number(header(headers, 'content-length') ?? 0);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
        buffer = buffer.subarray(end + 4 + length);
        const status = Number((lines[0] ?? '').split(' ')[1]);
        const callback = waiting;
        waiting = undefined;
        callback?.({ status, headers, body });
      }
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.on('error', () => undefined);
      resolve({
        socket,
        frames,
        closed,
        request(method, uri, headers = []) {
          return new Promise((done, fail) => {
            waiting = done;
            socket.once('close', () => fail(new Error(`connection closed before the answer to ${method}`)));
            const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++cseq}`, ...headers.map(([name, value]) => `${name}: ${value}`)];
            socket.write(`${lines.join('\r\n')}\r\n\r\n`);
          });
        },
        close: () => socket.destroy(),
      });
    });
  });
}

/** DESCRIBE, SETUP over interleaved TCP, PLAY; returns the client and the session id. */
async function playOverTcp(camera: ScriptedCamera): Promise<{ client: RawClient; session: string; play: RawResponse }> {
  const client = await rawClient(camera.port);
  const describe = await client.request('DESCRIBE', camera.url(), [['Accept', 'application/sdp']]);
  expect(describe.status).to.equal(200);
  const setup = await client.request('SETUP', `${camera.url()}/trackID=0`, [['Transport', 'RTP/AVP/TCP;unicast;interleaved=0-1']]);
  expect(setup.status).to.equal(200);
  const session = (header(setup.headers, 'session') ?? '').split(';')[0] ?? '';
  const play = await client.request('PLAY', camera.url(), [['Session', session]]);
  expect(play.status).to.equal(200);
  return { client, session, play };
}

/** Groups RTP payloads into access units by the marker bit and depacketizes single NAL units and FU-A into NAL units. */
function accessUnits(packets: Buffer[]): Buffer[][] {
  const units: Buffer[][] = [];
  let current: Buffer[] = [];
  let fragments: Buffer[] | undefined;
  for (const packet of packets) {
    const csrcCount = (packet[0] ?? 0) & 0x0f;
    const payload = packet.subarray(12 + 4 * csrcCount);
    const type = (payload[0] ?? 0) & 0x1f;
    if (type >= 1 && type <= 23) current.push(payload);
    else if (type === 28) {
      const fuHeader = payload[1] ?? 0;
      if (fuHeader & 0x80) fragments = [Buffer.from([((payload[0] ?? 0) & 0xe0) | (fuHeader & 0x1f)])];
      fragments?.push(payload.subarray(2));
      if (fuHeader & 0x40 && fragments) {
        current.push(Buffer.concat(fragments));
        fragments = undefined;
      }
    } else throw new Error(`unexpected RTP payload type ${type}`);
    if ((packet[1] ?? 0) & 0x80) {
      units.push(current);
      current = [];
    }
  }
  return units;
}

/** The Authorization header value for `variant`, computed here independently of the camera. */
function digestAuthorization(challenge: string, method: string, uri: string, username: string, password: string, variant: 'md5' | 'md5-sess' | 'sha256'): string {
  const param = (name: string): string => new RegExp(`${name}="?([^",]*)"?`).exec(challenge)?.[1] ?? '';
  const realm = param('realm');
  const nonce = param('nonce');
  const qop = /qop="auth"/.test(challenge);
  const h = (text: string): string => createHash(variant === 'sha256' ? 'sha256' : 'md5').update(text).digest('hex');
  const cnonce = 'c0ffee42';
  const nc = '00000001';
  const ha1 = variant === 'md5-sess' ? h(`${h(`${username}:${realm}:${password}`)}:${nonce}:${cnonce}`) : h(`${username}:${realm}:${password}`);
  const ha2 = h(`${method}:${uri}`);
  const response = qop ? h(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) : h(`${ha1}:${nonce}:${ha2}`);
  const algorithm = variant === 'md5' ? 'MD5' : variant === 'md5-sess' ? 'MD5-sess' : 'SHA-256';
  const parts = [`username="${username}"`, `realm="${realm}"`, `nonce="${nonce}"`, `uri="${uri}"`, `response="${response}"`, `algorithm=${algorithm}`];
  if (qop || variant === 'md5-sess') parts.push(`cnonce="${cnonce}"`);
  if (qop) parts.push('qop=auth', `nc=${nc}`);
  return `Digest ${parts.join(', ')}`;
}

describe('ScriptedCamera (test RTSP server)', function () {
  this.timeout(60_000);
  const cameras: ScriptedCamera[] = [];
  async function camera(options: ScriptedCameraOptions = {}): Promise<ScriptedCamera> {
    const started = await ScriptedCamera.start(options);
    cameras.push(started);
    return started;
  }
  afterEach(async () => {
    await Promise.all(cameras.splice(0).map((started) => started.stop()));
  });

  it('serves H.264 that ffprobe reads over TCP (codec, size) and counts the exchange', async () => {
    const cam = await camera();
    expect(cam.url()).to.match(/^rtsp:\/\/127\.0\.0\.1:\d+\/stream$/);
    const result = await probe(cam.url());
    expect(result.code, result.stderr).to.equal(0);
    expect(result.streams[0]).to.include({ codec_name: 'h264', width: 320, height: 180 });
    expect(cam.stats).to.include({ connections: 1, describes: 1, setups: 1, plays: 1, sessionsStarted: 1 });
    expect(cam.stats.rtpPacketsSent).to.be.greaterThan(0);
    expect(cam.requests.map((request) => request.method).slice(0, 4)).to.deep.equal(['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY']);
    expect(header(cam.requests[2]?.headers ?? [], 'transport')).to.contain('interleaved=');
  });

  it('ffmpeg decodes frames without errors over TCP and over UDP; its UDP RTCP receiver reports are counted', async () => {
    const tcpCam = await camera();
    const udpCam = await camera();
    const [tcp, udp] = await Promise.all([
      run('/usr/bin/ffmpeg', ['-nostdin', '-v', 'error', '-rtsp_transport', 'tcp', '-i', tcpCam.url(), '-frames:v', '40', '-f', 'null', '-']),
      run('/usr/bin/ffmpeg', ['-nostdin', '-v', 'error', '-rtsp_transport', 'udp', '-i', udpCam.url(), '-frames:v', '40', '-f', 'null', '-']),
    ]);
    expect(tcp.code, tcp.stderr).to.equal(0);
    expect(tcp.stderr.trim()).to.equal('');
    expect(udp.code, udp.stderr).to.equal(0);
    expect(udp.stderr.trim()).to.equal('');
    const udpSetup = udpCam.requests.find((request) => request.method === 'SETUP');
    expect(header(udpSetup?.headers ?? [], 'transport')).to.match(/client_port=\d+-\d+/);
    // ffmpeg sends receiver reports over UDP only (none interleaved in the TCP connection).
    expect(udpCam.stats.rtcpReceiverReports, 'receiver reports').to.be.greaterThan(0);
    for (const cam of [tcpCam, udpCam]) {
      expect(cam.stats.teardowns).to.equal(1);
      expect(cam.stats.activeSessions).to.equal(0);
    }
  });

  it('answers SETUP for every a=control style ffprobe resolves', async () => {
    const styles: ControlStyle[] = ['absolute', 'relative', 'star', 'content-base', 'content-location'];
    const cams = await Promise.all(styles.map((controlStyle) => camera({ controlStyle })));
    const results = await Promise.all(cams.map((cam) => probe(cam.url())));
    results.forEach((result, index) => {
      expect(result.code, `${styles[index]}: ${result.stderr}`).to.equal(0);
      expect(result.streams[0]?.codec_name).to.equal('h264');
    });
    const describe = await (await rawClient(cams[3]!.port)).request('DESCRIBE', cams[3]!.url());
    expect(header(describe.headers, 'content-base')).to.equal(`${cams[3]!.url()}/`);
    expect(header(describe.headers, 'content-type')).to.equal('application/sdp');
    expect(describe.body).to.match(/a=control:\*\r\n[\s\S]*a=rtpmap:96 H264\/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=[0-9A-F]{6};sprop-parameter-sets=[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+\r\na=control:trackID=0\r\n$/);
  });

  it('lets ffprobe in with Basic, Digest MD5 (with and without qop) and MD5-sess with qop; stale nonces are renewed', async () => {
    const variants: Array<{ schemes: AuthScheme[]; qop?: boolean; nonceUses?: number }> = [
      { schemes: ['basic'] },
      { schemes: ['digest-md5'] },
      { schemes: ['digest-md5'], qop: true },
      { schemes: ['digest-md5-sess'], qop: true },
      { schemes: ['basic', 'digest-md5'], qop: true, nonceUses: 2 },
    ];
    const cams = await Promise.all(variants.map((variant) => camera({ auth: { username: 'admin', password: 'p@ss word', ...variant } })));
    const results = await Promise.all(cams.map((cam) => probe(withCredentials(cam.url(), 'admin', 'p@ss word'))));
    results.forEach((result, index) => {
      expect(result.code, `${JSON.stringify(variants[index])}: ${result.stderr}`).to.equal(0);
      expect(result.streams[0]?.codec_name).to.equal('h264');
      expect(cams[index]!.stats.authFailures).to.equal(0);
    });
    const renewed = cams[4]!;
    expect(renewed.requests.every((request) => !request.uri.includes('@')), 'credentials never in the URI').to.equal(true);
    // ffmpeg used Digest (the stronger scheme) and retried once the third use of a nonce was answered stale.
    const nonces = new Set(renewed.requests.map((request) => /nonce="([^"]+)"/.exec(header(request.headers, 'authorization') ?? '')?.[1]).filter(Boolean));
    expect(nonces.size).to.be.greaterThan(1);
  });

  it('verifies Digest SHA-256 and MD5-sess (with and without qop) computed by an independent raw client, and refuses a wrong response', async () => {
    for (const variant of ['sha256', 'md5-sess', 'md5'] as const) {
      for (const qop of [false, true]) {
        const cam = await camera({ auth: { username: 'op', password: 'secret', schemes: ['basic', `digest-${variant}`], qop } });
        const client = await rawClient(cam.port);
        const first = await client.request('DESCRIBE', cam.url());
        expect(first.status).to.equal(401);
        const challenges = first.headers.filter(([name]) => name === 'WWW-Authenticate').map(([, value]) => value);
        expect(challenges[0]).to.equal('Basic realm="ScriptedCamera"');
        expect(challenges[1]).to.match(/^Digest /);
        const good = await client.request('DESCRIBE', cam.url(), [['Authorization', digestAuthorization(challenges[1]!, 'DESCRIBE', cam.url(), 'op', 'secret', variant)]]);
        expect(good.status, `${variant} qop=${qop}`).to.equal(200);
        const again = await client.request('DESCRIBE', cam.url());
        const challenge = again.headers.filter(([name]) => name === 'WWW-Authenticate')[1]?.[1] ?? '';
        const bad = await client.request('DESCRIBE', cam.url(), [['Authorization', digestAuthorization(challenge, 'DESCRIBE', cam.url(), 'op', 'wrong', variant)]]);
        expect(bad.status).to.equal(401);
        expect(cam.stats.authFailures).to.equal(1);
        client.close();
      }
    }
  });

  it('a wrong password gives 401 to ffprobe and counts authFailures; lockoutAfter turns into 403', async () => {
    const cam = await camera({ auth: { username: 'admin', password: 'right', schemes: ['digest-md5'], qop: true } });
    const result = await probe(withCredentials(cam.url(), 'admin', 'wrong'));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('401');
    expect(cam.stats.authFailures).to.be.greaterThan(0);
    expect(cam.stats.plays).to.equal(0);

    const locked = await camera({ auth: { username: 'admin', password: 'right', schemes: ['basic'], lockoutAfter: 2 } });
    const client = await rawClient(locked.port);
    const wrong = `Basic ${Buffer.from('admin:wrong').toString('base64')}`;
    expect((await client.request('DESCRIBE', locked.url(), [['Authorization', wrong]])).status).to.equal(401);
    expect((await client.request('DESCRIBE', locked.url(), [['Authorization', wrong]])).status).to.equal(401);
    expect((await client.request('DESCRIBE', locked.url(), [['Authorization', `Basic ${Buffer.from('admin:right').toString('base64')}`]])).status).to.equal(403);
    expect((await client.request('OPTIONS', locked.url())).status).to.equal(403);
    expect(locked.stats).to.include({ authFailures: 2, lockedOut: 2 });
    client.close();
  });

  it('serves rtsps with the generated certificate', async () => {
    const certificate = await createSelfSignedCertificate();
    expect(certificate.fingerprint256).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const cam = await camera({ tls: { key: certificate.key, cert: certificate.cert } });
    expect(cam.url()).to.match(/^rtsps:\/\//);
    const fingerprint = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: cam.port, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.destroy();
      });
      socket.once('error', reject);
    });
    expect(fingerprint).to.equal(certificate.fingerprint256);
    const result = await probe(cam.url());
    expect(result.code, result.stderr).to.equal(0);
    expect(result.streams[0]).to.include({ codec_name: 'h264', width: 320, height: 180 });
  });

  it('quirks: auth demanded from SETUP, slow trickled answers, UDP refused with 461 (ffmpeg falls back to TCP), the raw respond hook', async () => {
    const late = await camera({ auth: { username: 'u', password: 'p', schemes: ['digest-md5'], demandAt: 'SETUP' } });
    const slow = await camera({ delayMs: 80, trickle: { chunkBytes: 7, intervalMs: 1 } });
    const tcpOnly = await camera({ udp: 461 });
    const [lateResult, slowResult, tcpOnlyResult] = await Promise.all([
      probe(withCredentials(late.url(), 'u', 'p')),
      probe(slow.url()),
      run('/usr/bin/ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', tcpOnly.url()]),
    ]);
    expect(lateResult.code, lateResult.stderr).to.equal(0);
    const describe = late.requests.filter((request) => request.method === 'DESCRIBE');
    expect(describe).to.have.length(1);
    expect(header(describe[0]!.headers, 'authorization')).to.equal(undefined);
    expect(slowResult.code, slowResult.stderr).to.equal(0);
    expect(slowResult.streams[0]?.codec_name).to.equal('h264');
    expect(tcpOnlyResult.code, tcpOnlyResult.stderr).to.equal(0);
    const transports = tcpOnly.requests.filter((request) => request.method === 'SETUP').map((request) => header(request.headers, 'transport') ?? '');
    expect(transports[0]).to.match(/^RTP\/AVP\/UDP;unicast;client_port=/);
    expect(transports[transports.length - 1]).to.match(/^RTP\/AVP\/TCP;unicast;interleaved=/);

    const hostile = await camera({
      respond: (request, socket) => {
        if (request.method !== 'DESCRIBE') return false;
        socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${request.cseq}\r\nContent-Length: 999999\r\n\r\nv=0`);
        socket.end();
        return true;
      },
    });
    const hostileResult = await probe(hostile.url());
    expect(hostileResult.code).to.not.equal(0);
    expect(hostile.stats).to.include({ describes: 1, setups: 0 });
  });

  it('redirects (302 with Location), answers 404 elsewhere, 405/501 for other methods', async () => {
    const cam = await camera({ redirects: { '/old': '/stream', '/away': 'rtsp://192.0.2.1/x' } });
    const client = await rawClient(cam.port);
    const moved = await client.request('DESCRIBE', cam.url('/old'));
    expect(moved.status).to.equal(302);
    expect(header(moved.headers, 'location')).to.equal(cam.url('/stream'));
    expect(header((await client.request('OPTIONS', cam.url('/away'))).headers, 'location')).to.equal('rtsp://192.0.2.1/x');
    expect((await client.request('DESCRIBE', cam.url('/nothing'))).status).to.equal(404);
    expect((await client.request('RECORD', cam.url())).status).to.equal(405);
    expect((await client.request('BREW', cam.url())).status).to.equal(501);
    client.close();
    const permanent = await camera({ redirects: { '/old': '/stream' }, redirectStatus: 301 });
    const other = await rawClient(permanent.port);
    expect((await other.request('DESCRIBE', permanent.url('/old'))).status).to.equal(301);
    other.close();
  });

  it('refuses sessions beyond maxSessions (453, or busyStatus) and frees them on TEARDOWN and on close', async () => {
    const cam = await camera({ maxSessions: 1, sessionTimeoutSec: 30 });
    const first = await playOverTcp(cam);
    expect(first.session).to.match(/^[0-9A-F]+$/);
    const second = await rawClient(cam.port);
    const refused = await second.request('SETUP', `${cam.url()}/trackID=0`, [['Transport', 'RTP/AVP/TCP;unicast;interleaved=0-1']]);
    expect(refused.status).to.equal(453);
    expect((await first.client.request('TEARDOWN', cam.url(), [['Session', first.session]])).status).to.equal(200);
    const accepted = await second.request('SETUP', `${cam.url()}/trackID=0`, [['Transport', 'RTP/AVP/TCP;unicast;interleaved=0-1']]);
    expect(accepted.status).to.equal(200);
    expect(header(accepted.headers, 'session')).to.match(/^[0-9A-F]+;timeout=30$/);
    second.close();
    await second.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cam.stats).to.include({ activeSessions: 0, sessionsStarted: 2, teardowns: 1 });
    first.client.close();

    const forbidding = await camera({ maxSessions: 0, busyStatus: 403 });
    const third = await rawClient(forbidding.port);
    expect((await third.request('SETUP', `${forbidding.url()}/trackID=0`, [['Transport', 'RTP/AVP/TCP;unicast;interleaved=0-1']])).status).to.equal(403);
    third.close();
  });

  it('GET_PARAMETER: 454 for an unknown session, 200 for a known one, and the scripted 454/501 answers', async () => {
    const cam = await camera();
    const { client, session } = await playOverTcp(cam);
    expect((await client.request('GET_PARAMETER', cam.url(), [['Session', 'DEADBEEF']])).status).to.equal(454);
    expect((await client.request('GET_PARAMETER', cam.url(), [['Session', session]])).status).to.equal(200);
    expect((await client.request('PLAY', cam.url(), [['Session', 'DEADBEEF']])).status).to.equal(454);
    expect((await client.request('TEARDOWN', cam.url(), [['Session', 'DEADBEEF']])).status).to.equal(454);
    client.close();
    for (const getParameter of [454, 501] as const) {
      const quirky = await camera({ getParameter });
      const other = await playOverTcp(quirky);
      expect((await other.client.request('GET_PARAMETER', quirky.url(), [['Session', other.session]])).status).to.equal(getParameter);
      const options = await other.client.request('OPTIONS', quirky.url());
      expect(header(options.headers, 'public')?.includes('GET_PARAMETER')).to.equal(getParameter !== 501);
      expect(quirky.stats.getParameters).to.equal(1);
      other.client.close();
    }
  });

  it('enforceKeepalive drops a silent session after sessionTimeoutSec and closes its connection; a keepalive keeps it', async () => {
    const cam = await camera({ sessionTimeoutSec: 1, enforceKeepalive: true });
    const silent = await playOverTcp(cam);
    const kept = await playOverTcp(cam);
    const started = Date.now();
    const keepalive = setInterval(() => void kept.client.request('GET_PARAMETER', cam.url(), [['Session', kept.session]]).catch(() => undefined), 400);
    try {
      await silent.client.closed;
      const elapsed = Date.now() - started;
      expect(elapsed).to.be.within(700, 1600);
      await new Promise((resolve) => setTimeout(resolve, 800));
    } finally {
      clearInterval(keepalive);
    }
    expect(cam.stats).to.include({ sessionsExpired: 1, activeSessions: 1 });
    expect(kept.client.socket.destroyed).to.equal(false);
    kept.client.close();
  });

  it('streams RFC 6184 RTP whose IDR access units have `slices` slices, SPS/PPS in-band unless sprop is sdp-only', async () => {
    const video = { width: 320, height: 180, fps: 25, gop: 10, slices: 3 };
    const inband = await camera({ video });
    const sdpOnly = await camera({ video, sprop: 'sdp-only' });
    const [a, b] = await Promise.all([playOverTcp(inband), playOverTcp(sdpOnly)]);
    // A compound RTCP packet on the RTCP channel: receiver report (no blocks), SDES (empty), PLI.
    const rr = Buffer.from([0x80, 201, 0, 1, 1, 2, 3, 4]);
    const sdes = Buffer.from([0x80, 202, 0, 0]);
    const pli = Buffer.from([0x81, 206, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
    const compound = Buffer.concat([rr, sdes, pli]);
    a.client.socket.write(Buffer.concat([Buffer.from([0x24, 1, 0, compound.length]), compound]));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(inband.stats).to.include({ rtcpReceived: 1, rtcpReceiverReports: 1, rtcpPli: 1 });
    a.client.close();
    b.client.close();
    for (const [{ client, play }, withParameterSets] of [[a, true], [b, false]] as const) {
      const rtp = client.frames.filter((frame) => frame.channel === 0).map((frame) => frame.payload);
      const rtcp = client.frames.filter((frame) => frame.channel === 1).map((frame) => frame.payload);
      expect(rtcp.length, 'sender reports').to.be.greaterThan(0);
      expect(rtcp[0]?.[1]).to.equal(200);
      const info = header(play.headers, 'rtp-info') ?? '';
      expect(info).to.match(/^url=rtsp:\/\/127\.0\.0\.1:\d+\/stream\/trackID=0;seq=\d+;rtptime=\d+$/);
      expect(rtp[0]?.readUInt16BE(2)).to.equal(Number(/seq=(\d+)/.exec(info)?.[1]));
      expect(rtp[0]?.readUInt32BE(4)).to.equal(Number(/rtptime=(\d+)/.exec(info)?.[1]));
      expect(rtp.every((packet) => packet.length <= 12 + 1200)).to.equal(true);
      expect(rtp.some((packet) => ((packet[12] ?? 0) & 0x1f) === 28), 'FU-A used').to.equal(true);
      for (let i = 1; i < rtp.length; i += 1) expect(rtp[i]!.readUInt16BE(2)).to.equal((rtp[i - 1]!.readUInt16BE(2) + 1) & 0xffff);
      const units = accessUnits(rtp);
      expect(units.length).to.be.at.least(20);
      const keyframes = units.filter((unit) => unit.some((nal) => ((nal[0] ?? 0) & 0x1f) === 5));
      expect(keyframes.length).to.be.at.least(2);
      expect(units[0]).to.equal(keyframes[0]);
      for (const unit of keyframes) {
        const types = unit.map((nal) => (nal[0] ?? 0) & 0x1f);
        expect(types.filter((type) => type === 5)).to.have.length(3);
        expect(types).to.deep.equal(withParameterSets ? [7, 8, 5, 5, 5] : [5, 5, 5]);
      }
      const markers = rtp.filter((packet) => ((packet[1] ?? 0) & 0x80) !== 0).map((packet) => packet.readUInt32BE(4));
      for (let i = 1; i < markers.length; i += 1) expect((markers[i]! - markers[i - 1]! + 2 ** 32) % 2 ** 32).to.equal(90000 / 25);
    }
  });
});
