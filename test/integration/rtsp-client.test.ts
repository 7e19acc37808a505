import { expect } from 'chai';
import { rtspFailure } from '../support/rtspFailure.ts';
import net from 'node:net';
import { RtspClient, RtspError, probeRtspCamera, type RtspClientOptions } from '../../workers/rtsp.ts';
import { ScriptedCamera, type ScriptedCameraOptions } from '../support/ScriptedCamera.ts';
import { createSelfSignedCertificate } from '../support/certificates.ts';
import { checkCamera } from '../../server/cameras/checkCamera.ts';
import { CameraLoginGuard } from '../../server/cameras/CameraLoginGuard.ts';

const USER = 'operator';
const PASSWORD = 'Right-Pa55';

/** Plays a camera until `packets` RTP packets arrived (or throws after `withinMs`), returns the client still playing. */
async function play(options: RtspClientOptions, packets = 20, withinMs = 8000): Promise<{ client: RtspClient; received: Buffer[] }> {
  const client = new RtspClient({ timeoutMs: 3000, ...options });
  const received: Buffer[] = [];
  try {
    const description = await client.describe();
    const video = description.tracks.find((track) => track.media.type === 'video')!;
    await client.setup(video);
    client.on('rtp', (_track, packet) => received.push(Buffer.from(packet)));
    await client.play();
    const deadline = Date.now() + withinMs;
    while (received.length < packets) {
      if (Date.now() > deadline) throw new Error(`only ${received.length} RTP packets within ${withinMs} ms`);
      await sleep(20);
    }
    return { client, received };
  } catch (error) {
    await client.close();
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** RTCP PLI (RFC 4585 §6.3.1): PSFB, FMT 1, PT 206, length 2. */
function pli(mediaSsrc: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = 0x81;
  packet[1] = 206;
  packet.writeUInt16BE(2, 2);
  packet.writeUInt32BE(1, 4);
  packet.writeUInt32BE(mediaSsrc, 8);
  return packet;
}

describe('RTSP client against scripted cameras', function () {
  this.timeout(60_000);
  const cameras: ScriptedCamera[] = [];
  const clients: RtspClient[] = [];
  const camera = async (options: ScriptedCameraOptions) => {
    const started = await ScriptedCamera.start(options);
    cameras.push(started);
    return started;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(cameras.splice(0).map((c) => c.stop()));
  });

  describe('authentication', () => {
    for (const variant of ['md5', 'md5-sess', 'sha256'] as const) {
      for (const qop of [true, false]) {
        it(`plays a Digest ${variant} camera ${qop ? 'with' : 'without'} qop, and sends TEARDOWN on close`, async () => {
          const cam = await camera({ auth: { username: USER, password: PASSWORD, schemes: [`digest-${variant}`], qop } });
          const { client, received } = await play({ url: cam.url(), credentials: { username: USER, password: PASSWORD } });
          expect(client.authScheme).to.equal(`digest-${variant}`);
          expect(received[0]![0]! >> 6).to.equal(2);
          expect(cam.stats.authFailures).to.equal(0);
          await client.close();
          await sleep(100);
          expect(cam.stats.teardowns).to.equal(1);
          expect(cam.stats.activeSessions).to.equal(0);
        });
      }
    }

    it('answers the strongest challenge whatever the order of the WWW-Authenticate headers', async () => {
      const cam = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['basic', 'digest-md5', 'digest-sha256'], qop: true } });
      const { client } = await play({ url: cam.url(), credentials: { username: USER, password: PASSWORD } }, 5);
      clients.push(client);
      expect(client.authScheme).to.equal('digest-sha256');
      const authorizations = cam.requests.flatMap((r) => r.headers.filter(([name]) => name.toLowerCase() === 'authorization').map(([, v]) => v));
      expect(authorizations.length).to.be.greaterThan(0);
      for (const value of authorizations) expect(value).to.match(/^Digest .*algorithm="?SHA-256/);
    });

    it('sends Basic only when asked, never pre-emptively over plain rtsp', async () => {
      const cam = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['basic'] } });
      const { client } = await play({ url: cam.url(), credentials: { username: USER, password: PASSWORD } }, 5);
      clients.push(client);
      expect(client.authScheme).to.equal('basic');
      const first = cam.requests[0]!;
      expect(first.headers.some(([name]) => name.toLowerCase() === 'authorization')).to.equal(false);
    });

    it('works with reserved characters in user name and password (Digest and Basic, and inline in the URL)', async () => {
      const password = 'p@ss:/#%w"rd ñ';
      for (const schemes of [['digest-md5'], ['basic']] as const) {
        // Basic cannot carry a colon in the user name (RFC 7617 §2: user-id excludes ":"); Digest can.
        const username = schemes[0] === 'basic' ? 'ad@m/#%n' : 'ad@m:n/#%';
        const cam = await camera({ auth: { username, password, schemes: [...schemes], qop: true } });
        const { client } = await play({ url: cam.url(), credentials: { username, password } }, 3);
        await client.close();
        const inline = cam.url().replace('rtsp://', `rtsp://${encodeURIComponent(username)}:${encodeURIComponent(password)}@`);
        const second = await play({ url: inline }, 3);
        await second.client.close();
        for (const request of cam.requests) expect(request.uri).not.to.include('@');
        expect(cam.stats.authFailures).to.equal(0);
      }
    });

    it('a wrong password costs exactly one refused login: unauthorized, no retry', async () => {
      const cam = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], qop: true } });
      const error = await rtspFailure(play({ url: cam.url(), credentials: { username: USER, password: 'wrong' } }));
      expect(error.code).to.equal('unauthorized');
      expect(error.message).not.to.include('wrong');
      expect(cam.stats.authFailures).to.equal(1);
      expect(cam.stats.describes).to.equal(2);
    });

    it('no credentials configured: unauthorized without sending any', async () => {
      const cam = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'] } });
      const error = await rtspFailure(play({ url: cam.url() }));
      expect(error.code).to.equal('unauthorized');
      expect(cam.stats.describes).to.equal(1);
    });

    for (const demandAt of ['SETUP', 'PLAY'] as const) {
      it(`a camera demanding authentication only at ${demandAt}: plays with the right password, refuses a wrong one`, async () => {
        const cam = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], qop: true, demandAt } });
        const { client } = await play({ url: cam.url(), credentials: { username: USER, password: PASSWORD } }, 5);
        await client.close();
        const error = await rtspFailure(play({ url: cam.url(), credentials: { username: USER, password: 'wrong' } }));
        expect(error.code).to.equal('unauthorized');
        expect(error.message).to.include(demandAt);
      });
    }

    it('takes a fresh nonce when the camera says the old one is stale (keepalives go on)', async () => {
      const cam = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], qop: true, nonceUses: 2 }, sessionTimeoutSec: 1, enforceKeepalive: true });
      const { client, received } = await play({ url: cam.url(), credentials: { username: USER, password: PASSWORD } }, 5);
      clients.push(client);
      const lost: RtspError[] = [];
      client.on('lost', (error) => lost.push(error));
      await sleep(2600);
      const before = received.length;
      await sleep(500);
      expect(lost).to.deep.equal([]);
      expect(received.length).to.be.greaterThan(before);
      expect(cam.stats.authFailures).to.equal(0);
      expect(cam.stats.getParameters).to.be.at.least(3);
    });

    it('a 403 after refused logins is locked_out', async () => {
      const cam = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], lockoutAfter: 1 } });
      expect((await rtspFailure(play({ url: cam.url(), credentials: { username: USER, password: 'wrong' } }))).code).to.equal('unauthorized');
      const again = await rtspFailure(play({ url: cam.url(), credentials: { username: USER, password: 'wrong' }, priorUnauthorized: true }));
      expect(again.code).to.equal('locked_out');
    });
  });

  describe('redirects', () => {
    it('follows a 302 and reports the final URL', async () => {
      const cam = await camera({ redirects: { '/old': '/stream' } });
      const description = await new RtspClient({ url: cam.url('/old'), timeoutMs: 3000 }).describe();
      expect(description.url).to.equal(cam.url());
      expect(description.redirects).to.equal(1);
      const probe = await probeRtspCamera({ url: cam.url('/old'), timeoutMs: 3000 });
      expect(probe.url).to.equal(cam.url());
      expect(probe.video).to.deep.include({ codec: 'h264', width: 320, height: 180 });
    });

    it('a redirect loop is redirect_loop after a bounded number of requests', async () => {
      const cam = await camera({ redirects: { '/a': '/b', '/b': '/a' } });
      const client = new RtspClient({ url: cam.url('/a'), timeoutMs: 3000 });
      clients.push(client);
      expect((await rtspFailure(client.describe())).code).to.equal('redirect_loop');
      expect(cam.stats.describes).to.equal(2);
    });

    it('more than 3 hops is redirect_loop', async () => {
      const cam = await camera({ redirects: { '/1': '/2', '/2': '/3', '/3': '/4', '/4': '/stream' } });
      const client = new RtspClient({ url: cam.url('/1'), timeoutMs: 3000 });
      clients.push(client);
      expect((await rtspFailure(client.describe())).code).to.equal('redirect_loop');
      expect(cam.stats.describes).to.equal(4);
      const three = await new RtspClient({ url: cam.url('/2'), timeoutMs: 3000 }).describe();
      expect(three.redirects).to.equal(3);
    });

    it('does not send credentials to another host it is redirected to', async () => {
      const target = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['basic'] } });
      const other = target.url().replace('127.0.0.1', 'localhost');
      const front = await camera({ redirects: { '/stream': other } });
      const client = new RtspClient({ url: front.url(), credentials: { username: USER, password: PASSWORD }, timeoutMs: 3000 });
      clients.push(client);
      expect((await rtspFailure(client.describe())).code).to.equal('unauthorized');
      expect(target.requests.every((r) => !r.headers.some(([name]) => name.toLowerCase() === 'authorization'))).to.equal(true);
    });
  });

  describe('sessions and keepalive', () => {
    it('keeps a session alive that the camera drops without keepalives (GET_PARAMETER at half the timeout)', async () => {
      // A 1 s session timeout (keepalives every 500 ms, the client's floor): 2.6 s is more than two
      // and a half timeouts, as the stale-nonce test above waits.
      const cam = await camera({ sessionTimeoutSec: 1, enforceKeepalive: true });
      const { client, received } = await play({ url: cam.url() }, 5);
      clients.push(client);
      expect(client.session?.timeoutMs).to.equal(1000);
      await sleep(2600);
      const before = received.length;
      await sleep(400);
      expect(received.length).to.be.greaterThan(before);
      expect(cam.stats.sessionsExpired).to.equal(0);
      expect(cam.stats.getParameters).to.be.at.least(3);
      expect(client.keepaliveMethod).to.equal('GET_PARAMETER');
    });

    for (const answer of [454, 501] as const) {
      it(`falls back to OPTIONS when GET_PARAMETER is answered ${answer} (no drop)`, async () => {
        const cam = await camera({ sessionTimeoutSec: 1, enforceKeepalive: true, getParameter: answer });
        const { client, received } = await play({ url: cam.url() }, 5);
        clients.push(client);
        await sleep(2600);
        const before = received.length;
        await sleep(400);
        expect(received.length).to.be.greaterThan(before);
        expect(client.keepaliveMethod).to.equal('OPTIONS');
        expect(cam.stats.sessionsExpired).to.equal(0);
        expect(cam.stats.options).to.be.at.least(2);
      });
    }

    it('a camera allowing one session: the second client is busy; after TEARDOWN the next start succeeds', async () => {
      const cam = await camera({ maxSessions: 1, sessionTimeoutSec: 30 });
      const first = await play({ url: cam.url() }, 3);
      const busy = await rtspFailure(play({ url: cam.url() }));
      expect(busy.code).to.equal('busy');
      expect(busy.details.retryAfterMs).to.be.at.least(30_000);
      await first.client.close();
      const second = await play({ url: cam.url() }, 3);
      await second.client.close();
      expect(cam.stats.teardowns).to.equal(2);
    });

    it('403 with no credentials configured is busy', async () => {
      const cam = await camera({ maxSessions: 1, busyStatus: 403 });
      const first = await play({ url: cam.url() }, 3);
      clients.push(first.client);
      expect((await rtspFailure(play({ url: cam.url() }))).code).to.equal('busy');
    });

    it('passes a keyframe request (RTCP PLI) to the camera', async () => {
      const cam = await camera({});
      const { client, received } = await play({ url: cam.url() }, 3);
      clients.push(client);
      const track = (await Promise.resolve(client)).session && { index: 0 };
      expect(track).to.not.equal(undefined);
      const ssrc = received[0]!.readUInt32BE(8);
      const description = await new RtspClient({ url: cam.url(), timeoutMs: 3000 }).describe();
      client.sendRtcp(description.tracks[0]!, pli(ssrc));
      await sleep(300);
      expect(cam.stats.rtcpPli).to.equal(1);
    });
  });

  describe('control URLs and transports', () => {
    for (const controlStyle of ['absolute', 'relative', 'star', 'content-base', 'content-location'] as const) {
      it(`resolves a ${controlStyle} track control and plays`, async () => {
        const cam = await camera({ controlStyle });
        const { client } = await play({ url: cam.url() }, 5);
        await client.close();
        const setup = cam.requests.find((r) => r.method === 'SETUP')!;
        expect(setup.uri.startsWith(cam.url())).to.equal(true);
      });
    }

    it('receives RTP over UDP and sends RTCP to the camera port', async () => {
      const cam = await camera({});
      const { client, received } = await play({ url: cam.url(), transport: 'udp' }, 10);
      clients.push(client);
      const setup = cam.requests.find((r) => r.method === 'SETUP')!;
      expect(setup.headers.find(([n]) => n === 'Transport')?.[1]).to.match(/client_port=\d+-\d+/);
      const description = await new RtspClient({ url: cam.url(), timeoutMs: 3000 }).describe();
      client.sendRtcp(description.tracks[0]!, pli(received[0]!.readUInt32BE(8)));
      await sleep(300);
      expect(cam.stats.rtcpPli).to.equal(1);
    });

    it('retries over TCP a UDP SETUP answered 461', async () => {
      const cam = await camera({ udp: 461 });
      const { client } = await play({ url: cam.url(), transport: 'udp' }, 5);
      clients.push(client);
      const setups = cam.requests.filter((r) => r.method === 'SETUP').map((r) => r.headers.find(([n]) => n === 'Transport')?.[1]);
      expect(setups).to.have.length(2);
      expect(setups[1]).to.match(/RTP\/AVP\/TCP/);
    });

    it('rtsps: a pinned fingerprint plays a self-signed camera; a wrong pin or strict verification is tls_mismatch', async () => {
      const certificate = await createSelfSignedCertificate('camera.local');
      const cam = await camera({ tls: { key: certificate.key, cert: certificate.cert } });
      const { client } = await play({ url: cam.url(), tls: { verify: true, fingerprint256: certificate.fingerprint256 } }, 3);
      await client.close();
      const wrongPin = certificate.fingerprint256.replace(/^[0-9A-F]/, (c) => (c === 'A' ? 'B' : 'A'));
      const mismatch = await rtspFailure(play({ url: cam.url(), tls: { verify: false, fingerprint256: wrongPin } }));
      expect(mismatch.code).to.equal('tls_mismatch');
      expect(mismatch.message).to.include('does not match the pinned fingerprint').and.include(`it presented SHA-256 ${certificate.fingerprint256};`);
      const untrusted = await rtspFailure(play({ url: cam.url(), tls: { verify: true } }));
      expect(untrusted.code).to.equal('tls_mismatch');
      expect(untrusted.message).to.match(/not trusted \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)/);
      expect(untrusted.message).to.include(`it presented SHA-256 ${certificate.fingerprint256};`).and.include("pin it as the camera's tlsFingerprint");
      // verify: false and no pin accepts any certificate; the pin may be given in lower case without colons.
      await (await play({ url: cam.url(), tls: { verify: false } }, 1)).client.close();
      await (await play({ url: cam.url(), tls: { verify: true, fingerprint256: certificate.fingerprint256.replace(/:/g, '').toLowerCase() } }, 1)).client.close();
    });
  });

  describe('slow and hostile cameras', () => {
    it('a camera answering slower than the timeout: timeout, no hang', async () => {
      const cam = await camera({ delayMs: 1500 });
      const started = Date.now();
      const error = await rtspFailure(new RtspClient({ url: cam.url(), timeoutMs: 500 }).describe());
      expect(error.code).to.equal('timeout');
      expect(Date.now() - started).to.be.below(1400);
    });

    it('a camera trickling bytes mid-response: served if within the timeout, timeout otherwise', async () => {
      const slow = await camera({ trickle: { chunkBytes: 40, intervalMs: 5 } });
      const { client } = await play({ url: slow.url(), timeoutMs: 5000 }, 3);
      await client.close();
      const slower = await camera({ trickle: { chunkBytes: 1, intervalMs: 20 } });
      const started = Date.now();
      expect((await rtspFailure(new RtspClient({ url: slower.url(), timeoutMs: 700 }).describe())).code).to.equal('timeout');
      expect(Date.now() - started).to.be.below(1600);
    });

    const hostile: Array<[string, (cseq: string) => Buffer]> = [
      ['garbage instead of RTSP', () => Buffer.from('HTTP/1.1 200 OK\r\n\r\n<html>')],
      ['a header block without end', () => Buffer.from(`RTSP/1.0 200 OK\r\nX: ${'a'.repeat(40_000)}`)],
      ['an oversized SDP', (cseq) => Buffer.from(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Length: 900000\r\n\r\n`)],
      ['a Content-Length that is not a number', (cseq) => Buffer.from(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Length: -5\r\n\r\n`)],
      ['a wrong (future) CSeq', () => Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 99\r\n\r\n')],
      ['a malformed header line', (cseq) => Buffer.from(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nno colon here\r\n\r\n`)],
      ['an SDP that is not one', (cseq) => Buffer.from(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Length: 5\r\n\r\nhello`)],
      ['binary noise', () => Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 251))],
    ];
    for (const [name, bytes] of hostile) {
      it(`${name}: a clear protocol error, bounded memory, other cameras unaffected`, async () => {
        const bad = await camera({
          respond: (request, socket) => {
            if (request.method !== 'DESCRIBE') return false;
            socket.write(bytes(request.cseq ?? '1'));
            return true;
          },
        });
        const good = await camera({});
        const healthy = await play({ url: good.url() }, 3);
        clients.push(healthy.client);
        const client = new RtspClient({ url: bad.url(), timeoutMs: 1500 });
        clients.push(client);
        const error = await rtspFailure(client.describe());
        expect(error.code, error.message).to.be.oneOf(['protocol_error', 'timeout']);
        if (name !== 'a wrong (future) CSeq') expect(error.code).to.equal('protocol_error');
        expect(client.buffered).to.be.at.most(64 * 1024);
        const before = healthy.received.length;
        await sleep(300);
        expect(healthy.received.length).to.be.greaterThan(before);
      });
    }

    it('interleaved frames with bad lengths or unknown channels are dropped or fail the session, never crash', async () => {
      const cam = await camera({
        respond: (request, socket) => {
          if (request.method !== 'PLAY') return false;
          socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${request.cseq}\r\nSession: ${sessionOf(request)}\r\n\r\n`);
          // A frame on an unknown channel, a truncated RTP header, a non-RTP payload, then a length running past what follows.
          socket.write(Buffer.from([0x24, 9, 0, 4, 1, 2, 3, 4]));
          socket.write(Buffer.from([0x24, 0, 0, 3, 0x80, 0, 0]));
          socket.write(Buffer.concat([Buffer.from([0x24, 0, 0, 12]), Buffer.alloc(12, 0xff)]));
          socket.write(Buffer.from([0x24, 0, 0xff, 0xff, 0x80]));
          return true;
        },
      });
      const client = new RtspClient({ url: cam.url(), timeoutMs: 1500 });
      clients.push(client);
      const description = await client.describe();
      await client.setup(description.tracks[0]!);
      const packets: Buffer[] = [];
      client.on('rtp', (_t, p) => packets.push(p));
      await client.play();
      await sleep(200);
      expect(packets).to.deep.equal([]);
      expect(client.buffered).to.be.at.most(70_000);
    });
  });

  describe('review findings', () => {
    it('refuses a redirect from rtsps to plain rtsp (no credentials in clear)', async () => {
      const certificate = await createSelfSignedCertificate('camera.local');
      const plain = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['basic'] } });
      const secure = await camera({ tls: { key: certificate.key, cert: certificate.cert }, redirects: { '/stream': plain.url() } });
      const client = new RtspClient({ url: secure.url(), credentials: { username: USER, password: PASSWORD }, tls: { verify: false, fingerprint256: certificate.fingerprint256 }, timeoutMs: 3000 });
      clients.push(client);
      expect((await rtspFailure(client.describe())).code).to.equal('tls_mismatch');
      expect(plain.requests).to.have.length(0);
    });

    it('keeps the credentials for the same host on another port, and says so when it withholds them from another host', async () => {
      const target = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'] } });
      const front = await camera({ redirects: { '/stream': target.url() } });
      const { client } = await play({ url: front.url(), credentials: { username: USER, password: PASSWORD } }, 3);
      await client.close();
      const elsewhere = await camera({ redirects: { '/stream': target.url().replace('127.0.0.1', 'localhost') } });
      const error = await rtspFailure(new RtspClient({ url: elsewhere.url(), credentials: { username: USER, password: PASSWORD }, timeoutMs: 3000 }).describe());
      expect(error.message).to.match(/another host \(localhost\)/);
    });

    it('emits lost once when the camera vanishes during a keepalive', async () => {
      const cam = await camera({
        sessionTimeoutSec: 1,
        respond: (request, socket) => {
          if (request.method !== 'GET_PARAMETER') return false;
          socket.destroy();
          return true;
        },
      });
      const { client } = await play({ url: cam.url() }, 2);
      clients.push(client);
      const lost: string[] = [];
      client.on('lost', (error) => lost.push(error.code));
      await sleep(1200);
      expect(lost).to.deep.equal(['unreachable']);
    });

    const sdpOf = (tracks: number) =>
      ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=x', 't=0 0', ...Array.from({ length: tracks }, (_, i) => [`m=video 0 RTP/AVP 96`, 'a=rtpmap:96 H264/90000', `a=control:track${i}`]).flat(), ''].join('\r\n');
    const answering = (answers: Record<string, (request: { cseq?: string }) => string>) => (request: { method: string; cseq?: string }, socket: net.Socket) => {
      const answer = answers[request.method];
      if (!answer) return false;
      socket.write(answer(request));
      return true;
    };

    it('refuses two tracks on the same interleaved channels, and UDP ports out of range', async () => {
      const cam = await camera({
        respond: answering({
          DESCRIBE: (r) => `RTSP/1.0 200 OK\r\nCSeq: ${r.cseq}\r\nContent-Length: ${sdpOf(2).length}\r\n\r\n${sdpOf(2)}`,
          SETUP: (r) => `RTSP/1.0 200 OK\r\nCSeq: ${r.cseq}\r\nSession: s1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`,
        }),
      });
      const client = new RtspClient({ url: cam.url(), timeoutMs: 2000 });
      clients.push(client);
      const { tracks } = await client.describe();
      await client.setup(tracks[0]!);
      expect((await rtspFailure(client.setup(tracks[1]!))).code).to.equal('protocol_error');
      const udp = await camera({
        respond: answering({
          DESCRIBE: (r) => `RTSP/1.0 200 OK\r\nCSeq: ${r.cseq}\r\nContent-Length: ${sdpOf(1).length}\r\n\r\n${sdpOf(1)}`,
          SETUP: (r) => `RTSP/1.0 200 OK\r\nCSeq: ${r.cseq}\r\nSession: s1\r\nTransport: RTP/AVP;unicast;client_port=5000-5001;server_port=65535-65536\r\n\r\n`,
        }),
      });
      const second = new RtspClient({ url: udp.url(), timeoutMs: 2000, transport: 'udp' });
      clients.push(second);
      const described = await second.describe();
      expect((await rtspFailure(second.setup(described.tracks[0]!))).code).to.equal('protocol_error');
    });

    it('resolves a relative Content-Base against the request URL, and refuses a control that makes a broken request line', async () => {
      const relative = await camera({
        respond: answering({
          DESCRIBE: (r) => `RTSP/1.0 200 OK\r\nCSeq: ${r.cseq}\r\nContent-Base: live/\r\nContent-Length: ${sdpOf(1).length}\r\n\r\n${sdpOf(1)}`,
        }),
      });
      const { tracks } = await new RtspClient({ url: relative.url(), timeoutMs: 2000 }).describe();
      expect(tracks[0]!.url).to.equal(relative.url().replace(/stream$/, 'live/track0'));
      const spaced = sdpOf(1).replace('a=control:track0', 'a=control:track 0');
      const broken = await camera({ respond: answering({ DESCRIBE: (r) => `RTSP/1.0 200 OK\r\nCSeq: ${r.cseq}\r\nContent-Length: ${spaced.length}\r\n\r\n${spaced}` }) });
      const client = new RtspClient({ url: broken.url(), timeoutMs: 2000 });
      clients.push(client);
      const described = await client.describe();
      expect((await rtspFailure(client.setup(described.tracks[0]!))).code).to.equal('protocol_error');
      expect(broken.requests.filter((r) => r.method === 'SETUP')).to.have.length(0);
    });

    it('close() during a TLS handshake that never completes ends it at once', async () => {
      const silent = net.createServer((socket) => socket.on('error', () => undefined));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const port = (silent.address() as net.AddressInfo).port;
        const client = new RtspClient({ url: `rtsps://127.0.0.1:${port}/s`, timeoutMs: 5000 });
        const started = Date.now();
        const pending = rtspFailure(client.describe());
        await sleep(100);
        await client.close();
        const error = await pending;
        expect(error.code).to.equal('closed');
        expect(Date.now() - started).to.be.below(1500);
      } finally {
        silent.close();
      }
    });

    it('close() while a SETUP hangs returns at once', async () => {
      const cam = await camera({ respond: (request) => request.method === 'SETUP' && request.cseq !== '2' });
      const client = new RtspClient({ url: cam.url(), timeoutMs: 5000 });
      const { tracks } = await client.describe();
      await client.setup(tracks[0]!);
      const hung = client.setup({ ...tracks[0]!, index: 1 }).catch((error: unknown) => error);
      await sleep(100);
      const started = Date.now();
      await client.close();
      expect(Date.now() - started).to.be.below(500);
      expect((await hung as RtspError).code).to.equal('closed');
    });

    it('the prober and a viewer racing on a camera with a wrong password cost one refused login', async () => {
      const cam = await camera({ auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], qop: true } });
      const guard = new CameraLoginGuard({ authBackoffMs: 60_000, authBackoffMaxMs: 600_000 });
      const target = { id: 'race', url: cam.url(), username: USER, password: 'wrong', transport: 'tcp' as const };
      const outcomes = await Promise.all([checkCamera(target, guard, 3000), checkCamera(target, guard, 3000), checkCamera(target, guard, 3000)]);
      expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).to.deep.equal(['unauthorized', 'unauthorized', 'unauthorized']);
      expect(cam.stats.authFailures).to.equal(1);
    });
  });

  it('leaves no socket behind after a churn of clients', async () => {
    const cam = await camera({ sessionTimeoutSec: 10 });
    for (let i = 0; i < 15; i++) {
      const { client } = await play({ url: cam.url(), transport: i % 2 ? 'udp' : 'tcp' }, 2);
      await client.close();
    }
    await sleep(200);
    expect(cam.stats.activeSessions).to.equal(0);
    expect(cam.stats.teardowns).to.equal(15);
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    const udp = handles.filter((h) => h?.constructor?.name === 'Socket' && !(h instanceof net.Socket));
    expect(udp).to.have.length(0);
  });
});

function sessionOf(request: { headers: Array<[string, string]> }): string {
  return request.headers.find(([name]) => name.toLowerCase() === 'session')?.[1] ?? '1';
}
