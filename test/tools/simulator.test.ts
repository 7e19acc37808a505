/**
 * The RTSP camera simulator (scripts/camsim/camsim.py) behind test/support/simulator.ts:
 * codecs/profiles/B-frames over TCP and UDP, clock stamp and camera tag in the pixels,
 * per-camera Basic/Digest credentials, drop/restore, bulk mounts, clean shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { expect } from 'chai';
import { decodeStamp, decodeTag, ffmpegPath, grabFrame, probe, stampAgeMs, ToolError } from '../support/frames.ts';
import { descendants, processAlive, Simulator, type SimulatorConfig } from '../support/simulator.ts';

const CREDS = { user: 'viewer', password: 's3cret' };

// Small sizes: the machine has 2 cores. Widths >= 320 so the 16-block tag fits.
const CONFIG: SimulatorConfig = {
  cameras: [
    { id: 't-baseline', tag: 11, profile: 'baseline', width: 320, height: 240, fps: 15, gop: 15, bitrateKbps: 300 },
    { id: 't-main', tag: 12, profile: 'main', width: 352, height: 288, fps: 25, gop: 25, bitrateKbps: 400, pattern: 'ball' },
    { id: 't-high', tag: 13, profile: 'high', width: 640, height: 360, fps: 30, gop: 30, bitrateKbps: 600, motion: 2 },
    { id: 't-bframes', tag: 14, profile: 'main', bframes: 2, width: 320, height: 240, fps: 25, gop: 25, bitrateKbps: 300, pattern: 'pinwheel' },
    { id: 't-mjpeg', tag: 15, codec: 'mjpeg', width: 320, height: 240, fps: 10 },
    { id: 't-stamped', tag: 16, profile: 'baseline', width: 640, height: 360, fps: 25, gop: 25, bitrateKbps: 600, stamped: true, motion: 1 },
    { id: 't-basic', tag: 17, width: 320, height: 240, fps: 25, auth: { ...CREDS, method: 'basic' } },
    { id: 't-digest', tag: 18, width: 320, height: 240, fps: 25, auth: { ...CREDS, method: 'digest' } },
    { id: 't-drop', tag: 19, width: 320, height: 240, fps: 10, gop: 10 },
    { bulk: { prefix: 't-bulk-', count: 20, width: 160, height: 90, fps: 5 } },
  ],
};

function expectToolFailure(err: unknown, pattern: RegExp): void {
  expect(err, 'expected the tool to fail').to.be.instanceOf(ToolError);
  expect((err as ToolError).stderr).to.match(pattern);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One raw RTSP DESCRIBE; returns the status code and the WWW-Authenticate headers. */
function describeRaw(port: number, id: string, authorization?: string): Promise<{ status: number; authenticate: string[] }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    sock.setTimeout(5000, () => sock.destroy(new Error('RTSP DESCRIBE timed out')));
    sock.on('error', reject);
    sock.on('connect', () => {
      sock.write(
        `DESCRIBE rtsp://127.0.0.1:${port}/${id} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n` +
          (authorization ? `Authorization: ${authorization}\r\n` : '') + '\r\n',
      );
    });
    sock.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.destroy();
      const lines = text.slice(0, end).split('\r\n');
      const status = Number(/^RTSP\/1\.0 (\d{3})/.exec(lines[0] ?? '')?.[1]);
      const authenticate = lines.filter((l) => /^www-authenticate:/i.test(l)).map((l) => l.replace(/^[^:]*:\s*/, ''));
      resolve({ status, authenticate });
    });
  });
}

describe('camera simulator', function () {
  let sim: Simulator;

  before(async function () {
    sim = await Simulator.start({ config: CONFIG });
  });

  after(async function () {
    await sim?.stop();
  });

  describe('codecs and profiles (ffprobe over RTSP/TCP)', function () {
    const cases: Array<{ id: string; codec: string; w: number; h: number; fps: number; profile: RegExp }> = [
      { id: 't-baseline', codec: 'h264', w: 320, h: 240, fps: 15, profile: /^(Constrained )?Baseline$/ },
      { id: 't-main', codec: 'h264', w: 352, h: 288, fps: 25, profile: /^Main$/ },
      { id: 't-high', codec: 'h264', w: 640, h: 360, fps: 30, profile: /^High$/ },
      { id: 't-mjpeg', codec: 'mjpeg', w: 320, h: 240, fps: 10, profile: /.*/ },
    ];
    for (const c of cases) {
      it(`${c.id}: ${c.codec} ${c.w}x${c.h}@${c.fps}`, async function () {
        const p = await probe(sim.url(c.id), { transport: 'tcp' });
        expect(p.codec).to.equal(c.codec);
        expect([p.width, p.height]).to.deep.equal([c.w, c.h]);
        expect(p.fps).to.be.closeTo(c.fps, 0.01);
        if (c.codec === 'h264') {
          expect(p.profile).to.match(c.profile);
          expect(p.hasBFrames).to.equal(0);
        }
      });
    }

    it('t-bframes: Main profile with B-frames (has_b_frames and decoded B pictures)', async function () {
      const p = await probe(sim.url('t-bframes'), { transport: 'tcp', frames: 40 });
      expect(p.codec).to.equal('h264');
      expect(p.profile).to.equal('Main');
      expect(p.hasBFrames).to.be.greaterThan(0);
      expect(p.frameTypes).to.include('B');
      expect(p.frameTypes).to.include('I');
    });

    it('a baseline camera has no B pictures', async function () {
      const p = await probe(sim.url('t-baseline'), { transport: 'tcp', frames: 20 });
      expect(p.frameTypes).to.have.length.greaterThan(0);
      expect(p.frameTypes).to.not.include('B');
    });
  });

  describe('RTP over UDP, several clients at once', function () {
    it('probes two cameras concurrently over UDP', async function () {
      const [a, b] = await Promise.all([
        probe(sim.url('t-main'), { transport: 'udp' }),
        probe(sim.url('t-high'), { transport: 'udp' }),
      ]);
      expect([a.codec, a.profile, a.width, a.height]).to.deep.equal(['h264', 'Main', 352, 288]);
      expect([b.codec, b.profile, b.width, b.height]).to.deep.equal(['h264', 'High', 640, 360]);
    });

    it('serves one camera to TCP and UDP clients at the same time', async function () {
      const [a, b] = await Promise.all([
        grabFrame(sim.url('t-main'), { transport: 'tcp' }),
        grabFrame(sim.url('t-main'), { transport: 'udp' }),
      ]);
      expect(decodeTag(a)).to.equal(12);
      expect(decodeTag(b)).to.equal(12);
    });
  });

  describe('clock stamp and camera tag in the pixels', function () {
    const STAMP_AGE_BOUND_MS = 5000;

    it('the stamp of a stamped camera is within 1 s of Date.now() (gray/Y decode)', async function () {
      // read 15 frames: the first ones can arrive in a burst after probing
      const f = await grabFrame(sim.url('t-stamped'), { format: 'gray', frames: 15 });
      const age = stampAgeMs(decodeStamp(f), f.receivedAt);
      // A stamp that decodes wrong is off by hours or negative; a right one is this frame's age
      // through encoder, RTSP and decoder, which a loaded 2-core machine stretches past 1 s
      // (measured 1066 ms with a second suite running). Latency itself is bench:latency's.
      expect(age).to.be.within(0, STAMP_AGE_BOUND_MS);
      expect(decodeTag(f)).to.equal(16);
    });

    it('the stamp also decodes from RGB (neutral chroma under the blocks), over UDP', async function () {
      const f = await grabFrame(sim.url('t-stamped'), { format: 'rgb', frames: 15, transport: 'udp' });
      expect(f.channels).to.equal(3);
      expect(stampAgeMs(decodeStamp(f), f.receivedAt)).to.be.within(0, STAMP_AGE_BOUND_MS);
      expect(decodeTag(f)).to.equal(16);
    });

    it('consecutive frames carry increasing stamps', async function () {
      const a = await grabFrame(sim.url('t-stamped'), { frames: 5 });
      const b = await grabFrame(sim.url('t-stamped'), { frames: 5 });
      const d = stampAgeMs(decodeStamp(a), decodeStamp(b)); // b - a, wrap-safe
      expect(d).to.be.greaterThan(0);
      expect(d).to.be.lessThan(10000);
    });

    for (const [id, tag, format] of [
      ['t-main', 12, 'gray'],
      ['t-high', 13, 'rgb'],
      ['t-mjpeg', 15, 'rgb'],
      ['t-bframes', 14, 'gray'],
    ] as const) {
      it(`${id} shows tag ${tag} (${format})`, async function () {
        const f = await grabFrame(sim.url(id), { format, frames: 3 });
        expect(decodeTag(f)).to.equal(tag);
      });
    }
  });

  describe('RTSP credentials', function () {
    for (const method of ['basic', 'digest'] as const) {
      const id = `t-${method}`;
      it(`${method}: no credentials -> 401 advertising only ${method}`, async function () {
        const err = await rejection(probe(sim.url(id)));
        expectToolFailure(err, /401/);
        const raw = await describeRaw(sim.rtspPort, id);
        expect(raw.status).to.equal(401);
        expect(raw.authenticate).to.have.length(1);
        expect(raw.authenticate[0]).to.match(method === 'basic' ? /^Basic realm=/ : /^Digest realm=.*nonce=/);
      });

      it(`${method}: wrong password -> 401`, async function () {
        const err = await rejection(probe(sim.url(id, { user: CREDS.user, password: 'wrong' })));
        expectToolFailure(err, /401/);
      });

      it(`${method}: wrong user -> 401`, async function () {
        const err = await rejection(probe(sim.url(id, { user: 'intruder', password: CREDS.password })));
        expectToolFailure(err, /401/);
      });

      it(`${method}: right credentials -> stream with the right tag`, async function () {
        const p = await probe(sim.url(id, CREDS));
        expect([p.codec, p.width, p.height]).to.deep.equal(['h264', 320, 240]);
        const f = await grabFrame(sim.url(id, CREDS));
        expect(decodeTag(f)).to.equal(method === 'basic' ? 17 : 18);
      });
    }

    it('a Digest camera refuses correct credentials sent with Basic', async function () {
      const basic = 'Basic ' + Buffer.from(`${CREDS.user}:${CREDS.password}`).toString('base64');
      expect((await describeRaw(sim.rtspPort, 't-basic', basic)).status).to.equal(200);
      // refused with 404 (GstRtspServer's answer for a token without access), never 200
      expect((await describeRaw(sim.rtspPort, 't-digest', basic)).status).to.be.oneOf([401, 403, 404]);
    });

    it('public cameras ignore credentials', async function () {
      const p = await probe(sim.url('t-baseline', { user: 'x', password: 'y' }));
      expect(p.codec).to.equal('h264');
    });
  });

  describe('drop and restore', function () {
    let reader: ChildProcess | null = null;

    afterEach(async function () {
      await sim.restore('t-drop');
      if (reader && reader.exitCode === null && reader.signalCode === null) {
        reader.kill('SIGKILL');
        await new Promise((r) => reader!.once('close', r));
      }
      reader = null;
    });

    for (const transport of ['tcp', 'udp'] as const) {
      it(`disconnects a ${transport} client, refuses new ones with 404, serves again after restore`, async function () {
        reader = spawn(
          ffmpegPath(),
          ['-nostdin', '-loglevel', 'error', '-rtsp_transport', transport, '-timeout', '5000000', '-i', sim.url('t-drop'), '-f', 'null', '-'],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        const closed = new Promise<number | null>((r) => reader!.once('close', (code) => r(code)));
        await waitFor('the reader to be connected', async () => {
          const st = await sim.status();
          return (st.cameras.find((c) => c.id === 't-drop')?.clients ?? 0) > 0;
        });
        expect(reader.exitCode).to.equal(null);

        await sim.drop('t-drop');
        const killer = setTimeout(() => reader?.kill('SIGKILL'), 15000);
        await closed;
        clearTimeout(killer);
        expect(reader.signalCode, 'reader should end on its own, not by our kill timer').to.equal(null);

        const st = await sim.status();
        expect(st.cameras.find((c) => c.id === 't-drop')?.dropped).to.equal(true);
        expectToolFailure(await rejection(probe(sim.url('t-drop'), { transport })), /404/);

        await sim.restore('t-drop');
        const p = await probe(sim.url('t-drop'), { transport });
        expect(p.codec).to.equal('h264');
        expect((await sim.status()).cameras.find((c) => c.id === 't-drop')?.dropped).to.equal(false);
      });
    }

    it('dropping one camera leaves the others served', async function () {
      await sim.drop('t-drop');
      const p = await probe(sim.url('t-baseline'));
      expect(p.codec).to.equal('h264');
    });

    it('rejects unknown cameras', async function () {
      const err = await rejection(sim.drop('no-such-camera'));
      expect(String(err)).to.match(/404/);
    });
  });

  describe('bulk mounts and status', function () {
    it('serves many bulk mounts from one encoder, over TCP and UDP at once', async function () {
      const [a, b] = await Promise.all([
        probe(sim.url('t-bulk-1'), { transport: 'tcp' }),
        probe(sim.url('t-bulk-20'), { transport: 'udp' }),
      ]);
      for (const p of [a, b]) expect([p.codec, p.width, p.height, p.fps]).to.deep.equal(['h264', 160, 90, 5]);
      expectToolFailure(await rejection(probe(sim.url('t-bulk-21'))), /404/);
    });

    it('status lists every mount, the pid and CPU seconds', async function () {
      const st = await sim.status();
      expect(st.pid).to.equal(sim.pid);
      expect(st.rtspPort).to.equal(sim.rtspPort);
      expect(st.cpuSeconds).to.be.a('number').and.greaterThan(0);
      expect(st.cameras.filter((c) => c.bulk === 't-bulk-')).to.have.length(20);
      expect(st.cameras.map((c) => c.id)).to.include.members(['t-main', 't-stamped', 't-digest']);
      expect(sim.cameras).to.have.length(9 + 20);
    });
  });

  describe('lifecycle', function () {
    it('stops cleanly, leaves no processes behind, and stop() is idempotent', async function () {
      const own = await Simulator.start({ config: { cameras: [{ id: 'solo', tag: 1, width: 320, height: 240, fps: 10 }] } });
      try {
        const f = await grabFrame(own.url('solo'));
        expect(decodeTag(f)).to.equal(1);
        expect(processAlive(own.pid)).to.equal(true);
        const tree = descendants(own.pid);
        await own.stop();
        expect(own.running).to.equal(false);
        expect(processAlive(own.pid), `simulator pid ${own.pid} still in the process table`).to.equal(false);
        for (const pid of tree) expect(processAlive(pid), `child ${pid} survived`).to.equal(false);
        await own.stop(); // idempotent
      } finally {
        await own.stop();
      }
    });

    it('start() rejects with the simulator stderr on a bad config', async function () {
      const err = await rejection(Simulator.start({ config: { cameras: [{ id: 'x', codec: 'h265' as 'h264' }] } }));
      expect(String(err)).to.match(/codec must be h264 or mjpeg/);
    });
  });
});
