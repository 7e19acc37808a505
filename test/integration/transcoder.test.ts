import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ScriptedCamera, type ScriptedCameraOptions } from '../support/ScriptedCamera.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { RtpTap } from '../support/rtpTap.ts';
import { decodeStrict } from '../support/decodeStrict.ts';
import { connectClient, ok } from '../support/signallingClient.ts';
import type { AppError } from '../../server/errors/AppError.ts';
import { FfmpegIngest } from '../../workers/FfmpegIngest.ts';

// The transcoder engine fed by our RTSP client (issue 19): ffmpeg never talks to the camera.

const USER = 'operador';
const PASSWORD = 'Tr4nsc0de-Pa55';

/** A DESCRIBE answer naming `encoding` for the scripted camera's one track (whatever it really sends). */
function lyingSdp(encoding: string): string {
  return ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=lying camera', 't=0 0', 'm=video 0 RTP/AVP 96', `a=rtpmap:96 ${encoding}/90000`, 'a=control:trackID=0', ''].join('\r\n');
}

/** A scripted camera whose DESCRIBE (once authorised, if it asks) answers with `sdp`. */
async function cameraDescribing(sdp: string, options: ScriptedCameraOptions): Promise<ScriptedCamera> {
  const camera: ScriptedCamera = await ScriptedCamera.start({
    ...options,
    respond: (request, socket) => {
      if (request.method !== 'DESCRIBE') return false;
      socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${request.cseq}\r\nContent-Type: application/sdp\r\nContent-Base: ${camera.url()}/\r\nContent-Length: ${Buffer.byteLength(sdp)}\r\n\r\n${sdp}`);
      return true;
    },
  });
  return camera;
}

describe('transcoder engine fed by our RTSP client', function () {
  this.timeout(120_000);
  let t: TestApp;
  const cams: Record<string, ScriptedCamera> = {};

  before(async () => {
    cams.forced = await ScriptedCamera.start({
      video: { width: 320, height: 180, fps: 25, gop: 50, slices: 2 },
      honourPli: true,
      auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], qop: true },
    });
    // Says H.265, sends H.264 with SPS/PPS before each keyframe: the codec is taken from the stream.
    cams.saysH265 = await cameraDescribing(lyingSdp('H265'), { video: { width: 320, height: 180, fps: 25, gop: 25, slices: 1 } });
    // Says H.265, sends H.264 whose SPS/PPS are nowhere in the stream: nothing tells the truth, nothing decodes.
    // A vendor's encoding name longer than anything the protocol between server and worker carries.
    cams.vendor = await cameraDescribing(lyingSdp('X-VENDOR-PROPRIETARY-VIDEO-CODEC-VERSION-2'), { video: { width: 320, height: 180, fps: 25, gop: 25, slices: 1 } });
    cams.undecodable = await cameraDescribing(lyingSdp('H265'), { video: { width: 320, height: 180, fps: 25, gop: 25, slices: 1 }, sprop: 'sdp-only' });
    t = await startTestApp({
      cameras: [
        { id: 'tx-forced', name: 'ffmpeg engine, Digest', url: cams.forced.url(), username: USER, password: PASSWORD, engine: 'ffmpeg' },
        { id: 'tx-says-h265', name: 'SDP says H.265, sends H.264', url: cams.saysH265.url() },
        { id: 'tx-undecodable', name: 'SDP says H.265, stream undecodable', url: cams.undecodable.url() },
        { id: 'tx-vendor', name: 'Unknown vendor codec', url: cams.vendor.url(), engine: 'ffmpeg' },
      ],
      ingest: { startTimeoutMs: 14_000 },
    });
  });
  after(async () => {
    await t?.close();
    for (const cam of Object.values(cams)) await cam.stop();
  });

  it('copies H.264 on the ffmpeg engine with one RTSP session (ours), no credential on ffmpeg\'s command line, and a clean decode', async () => {
    const cam = cams.forced!;
    const plis = cam.stats.rtcpPli;
    const started = Date.now();
    const lease = await t.app.cameras.acquire('tx-forced');
    try {
      const liveAfter = Date.now() - started;
      const status = t.app.cameras.status('tx-forced')!;
      expect(status.engine).to.equal('ffmpeg');
      expect(status.transcodeReason).to.equal(undefined);
      expect(cam.stats.sessionsStarted).to.equal(1);
      expect(cam.stats.activeSessions).to.equal(1);
      // The GOP is 2 s; the transcoder asked the camera for a keyframe instead of waiting for it.
      expect(cam.stats.rtcpPli - plis).to.be.at.least(1);
      const pid = t.app.cameras.session('tx-forced')!.ingestPid!;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv[0]).to.match(/ffmpeg/);
      for (const arg of argv) {
        for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), USER]) expect(arg).not.to.include(secret);
        expect(arg).not.to.match(/rtsps?:|:\d+\/|@/);
      }
      const tap = await RtpTap.create(lease.feed!.host.router, lease.feed!.producer);
      try {
        const decoded = await decodeStrict(tap, 4);
        console.log(`      live after ${liveAfter} ms; ${decoded.frames} frames decoded in 4 s; PLIs at the camera ${cam.stats.rtcpPli - plis}`);
        expect(decoded.stderr.trim(), decoded.stderr).to.equal('');
        expect(decoded.frames).to.be.greaterThan(50);
      } finally {
        tap.close();
      }
      // A further viewer of a copied camera: its producer takes no keyframe requests, so resuming its
      // consumer asks the camera through the ingest (IPC to the worker, a PLI on the RTSP session).
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const socket = await connectClient(t.app.consoleUrl, await t.token('operator'));
      try {
        const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
        const { transport } = await ok(socket, 'createTransport', {});
        const { consumer } = await ok(socket, 'consume', { transportId: transport.id, cameraId: 'tx-forced', rtpCapabilities });
        await new Promise((resolve) => setTimeout(resolve, 300));
        const before = cam.stats.rtcpPli;
        await ok(socket, 'resumeConsumer', { consumerId: consumer.id });
        await waitFor(() => cam.stats.rtcpPli > before, 3000, 'a keyframe request when the new viewer resumes');
      } finally {
        socket.close();
      }
    } finally {
      lease.release();
    }
    await waitFor(() => cam.stats.activeSessions === 0 && cam.stats.teardowns >= 1, 10_000, 'the session torn down after the last viewer');
  });

  it('an SDP naming H.265 for an H.264 stream: the codec is taken from the stream and the camera plays', async () => {
    const started = Date.now();
    const lease = await t.app.cameras.acquire('tx-says-h265');
    try {
      const liveAfter = Date.now() - started;
      const status = t.app.cameras.status('tx-says-h265')!;
      expect(status.engine).to.equal('ffmpeg');
      expect(status.transcodeReason).to.equal('codec');
      expect(t.log.lines.some((line) => line.includes('tx-says-h265') && /SDP says H265 but the stream is H264/.test(line))).to.equal(true);
      const tap = await RtpTap.create(lease.feed!.host.router, lease.feed!.producer);
      try {
        const decoded = await decodeStrict(tap, 3);
        console.log(`      live after ${liveAfter} ms; ${decoded.frames} frames decoded in 3 s`);
        expect(decoded.stderr.trim(), decoded.stderr).to.equal('');
        expect(decoded.frames).to.be.greaterThan(40);
      } finally {
        tap.close();
      }
      expect(liveAfter).to.be.lessThan(10_000);
    } finally {
      lease.release();
    }
  });

  it('a stream that decodes as nothing ends in codec_mismatch, not an endless start', async () => {
    const started = Date.now();
    const error = (await t.app.cameras.acquire('tx-undecodable').then(
      (lease) => {
        lease.release();
        return undefined;
      },
      (caught: AppError) => caught,
    ))!;
    const after = Date.now() - started;
    console.log(`      refused after ${after} ms: ${error?.message}`);
    expect(error, 'the viewer is refused').to.not.equal(undefined);
    expect(error.details).to.deep.equal({ reason: 'codec_mismatch' });
    expect(error.message).to.match(/does not decode as H265/);
    const status = t.app.cameras.status('tx-undecodable');
    expect(status?.reason).to.equal('codec_mismatch');
  });

  it('a camera naming an unknown codec gets an answer (not a request left waiting in its worker)', async () => {
    const started = Date.now();
    const outcome = await t.app.cameras.acquire('tx-vendor').then(
      (lease) => {
        lease.release();
        return 'live';
      },
      (caught: AppError) => (caught.details as { reason?: string } | undefined)?.reason ?? caught.code,
    );
    console.log(`      answered after ${Date.now() - started} ms: ${outcome}`);
    expect(outcome).to.not.equal('timeout');
    expect(outcome).to.not.equal('camera_timeout');
    expect(Date.now() - started).to.be.lessThan(13_000);
  });

  it('a codec taken from the stream stays transcoded on the next run of the ffmpeg engine (never copied under a guessed profile)', async () => {
    const ingest = new FfmpegIngest({ camera: { id: 'tx-direct', url: cams.saysH265!.url(), transport: 'tcp' }, ffmpegPath: 'ffmpeg', highProfile: 'transcode', transcodeKbps: 500, timeoutMs: 3000, stallTimeoutMs: 4000 });
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()));
    try {
      expect((await ingest.open()).transcodeReason).to.equal('codec');
      ingest.start({ ip: '127.0.0.1', rtpPort: sink.address().port, rtcpPort: sink.address().port + 1 });
      await waitFor(() => ingest.stats.packetsIn > 30, 5000, 'the stream sniffed');
      await ingest.stop();
      const again = await ingest.open();
      expect(again.source.codec).to.equal('h264');
      expect(again.transcodeReason, 'a second run still transcodes').to.equal('codec');
      expect(again.codec.parameters['profile-level-id']).to.equal('42e01f');
    } finally {
      await ingest.stop();
      sink.close();
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
