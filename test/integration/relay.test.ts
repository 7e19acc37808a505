import { expect } from 'chai';
import type net from 'node:net';
import { ScriptedCamera } from '../support/ScriptedCamera.ts';
import { RelayIngest } from '../../workers/RelayIngest.ts';
import { RtspClient } from '../../workers/rtsp.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { RtpTap } from '../support/rtpTap.ts';
import { decodeStrict } from '../support/decodeStrict.ts';

describe('packet relay ingest (camera RTP forwarded untouched)', function () {
  this.timeout(120_000);
  let t: TestApp;
  const cams: Record<string, ScriptedCamera> = {};
  /** The audio-first camera's SDP (audio track first, then H.264 with an unused H.265 format), set once its own SPS/PPS are known. */
  let audioFirstSdp: string | undefined;
  /** The dropping camera: while `down`, every connection is cut at its first request. */
  const drop = { down: false, sockets: new Set<net.Socket>() };

  before(async () => {
    // The camera of issue 18: 2-slice keyframes with SPS/PPS before each, at 1280x720@30 in the issue; smaller here.
    cams.slices = await ScriptedCamera.start({ video: { width: 640, height: 360, fps: 25, gop: 25, slices: 2 }, sessionTimeoutSec: 10 });
    cams.sdpOnly = await ScriptedCamera.start({ video: { width: 320, height: 180, fps: 25, gop: 50, slices: 2 }, sprop: 'sdp-only' });
    cams.dropping = await ScriptedCamera.start({
      video: { width: 320, height: 180, fps: 25, gop: 25, slices: 2 },
      respond: (_request, socket) => {
        drop.sockets.add(socket);
        if (!drop.down) return false;
        socket.destroy();
        return true;
      },
    });
    cams.stalling = await ScriptedCamera.start({ video: { width: 320, height: 180, fps: 25, gop: 25, slices: 1 } });
    cams.longGop = await ScriptedCamera.start({ video: { width: 320, height: 180, fps: 25, gop: 250, slices: 1 }, honourPli: true });
    cams.longGopDeaf = await ScriptedCamera.start({ video: { width: 320, height: 180, fps: 25, gop: 250, slices: 1 }, sprop: 'sdp-only' });
    cams.jumping = await ScriptedCamera.start({ video: { width: 320, height: 180, fps: 25, gop: 25, slices: 2 } });
    cams.heavy = await ScriptedCamera.start({ video: { width: 1280, height: 720, fps: 30, gop: 30, slices: 2, kbps: 20_000 } });
    // RTP over UDP through a network that reorders: every 5th packet arrives 3 packets late.
    cams.reorder = await ScriptedCamera.start({ video: { width: 640, height: 360, fps: 25, gop: 25, slices: 2 }, udp: 'ok', udpReorder: { every: 5, distance: 3 } });
    cams.audioFirst = await ScriptedCamera.start({
      video: { width: 320, height: 180, fps: 25, gop: 25, slices: 2 },
      respond: (request, socket) => {
        if (request.method !== 'DESCRIBE' || audioFirstSdp === undefined) return false;
        const base = cams.audioFirst!.url();
        socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${request.cseq}\r\nContent-Base: ${base}/\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(audioFirstSdp)}\r\n\r\n${audioFirstSdp}`);
        return true;
      },
    });
    const own = (await new RtspClient({ url: cams.audioFirst.url(), timeoutMs: 3000 }).describe()).tracks[0]!.media.fmtp;
    audioFirstSdp = [
      'v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=audio first', 'c=IN IP4 0.0.0.0', 't=0 0', 'a=control:*',
      'm=audio 0 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=control:track-audio',
      'm=video 0 RTP/AVP 96 98', 'a=rtpmap:98 H265/90000', 'a=rtpmap:96 H264/90000',
      `a=fmtp:96 ${Object.entries(own).map(([k, v]) => `${k}=${v}`).join(';')}`, 'a=control:trackID=0',
      '',
    ].join('\r\n');
    t = await startTestApp({
      cameras: [
        { id: 'relay-stall', name: 'Stalling', url: cams.stalling.url() },
        { id: 'relay-long-gop', name: 'GOP 10 s, honours PLI', url: cams.longGop.url() },
        { id: 'relay-long-gop-deaf', name: 'GOP 10 s, ignores PLI, SPS/PPS only in the SDP', url: cams.longGopDeaf.url() },
        { id: 'relay-jump', name: 'Clock steps', url: cams.jumping.url() },
        { id: 'relay-heavy', name: '20 Mbit/s', url: cams.heavy.url() },
        { id: 'relay-slices', name: 'Multi-slice', url: cams.slices.url() },
        { id: 'relay-sdp-only', name: 'SPS in SDP only', url: cams.sdpOnly.url() },
        { id: 'relay-drop', name: 'Dropping', url: cams.dropping.url() },
        { id: 'relay-udp-reorder', name: 'UDP, reordered', url: cams.reorder.url(), transport: 'udp', engine: 'relay' },
        { id: 'relay-audio-first', name: 'Audio track first', url: cams.audioFirst.url(), engine: 'relay' },
      ],
      ingest: { engine: 'relay' },
    });
  });
  after(async () => {
    await t?.close();
    for (const cam of Object.values(cams)) await cam.stop();
  });

  it('relays a multi-slice camera that decodes without a single error, and a viewer\'s keyframe request reaches the camera', async () => {
    const lease = await t.app.cameras.acquire('relay-slices');
    try {
      const feed = lease.feed!;
      const plisBefore = cams.slices!.stats.rtcpPli;
      const tap = await RtpTap.create(feed.host.router, feed.producer);
      try {
        const decoded = await decodeStrict(tap, 6);
        console.log(`      ${decoded.frames} frames decoded in 6 s, ffmpeg exit ${decoded.code}, PLIs at the camera ${cams.slices!.stats.rtcpPli - plisBefore}`);
        expect(decoded.stderr.trim(), decoded.stderr).to.equal('');
        expect(decoded.code).to.equal(0);
        expect(decoded.frames).to.be.greaterThan(100);
        const backwards = decoded.pts.filter((pts, i) => i > 0 && pts <= decoded.pts[i - 1]!);
        expect(backwards, 'presentation time never goes back across the reconnect').to.deep.equal([]);
      } finally {
        tap.close();
      }
      expect(cams.slices!.stats.rtcpPli - plisBefore, 'the new consumer\'s keyframe request reached the camera').to.be.at.least(1);
      expect(cams.slices!.stats.rtcpReceiverReports).to.be.greaterThan(0);
      expect(t.app.cameras.status('relay-slices')?.state).to.equal('live');
    } finally {
      lease.release();
    }
    // One RTSP session per camera, torn down when the last viewer leaves (idle close 0 in tests).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(cams.slices!.stats.activeSessions).to.equal(0);
  });

  it('plays a camera whose SPS/PPS are only in the SDP', async () => {
    const lease = await t.app.cameras.acquire('relay-sdp-only');
    try {
      const tap = await RtpTap.create(lease.feed!.host.router, lease.feed!.producer);
      try {
        const decoded = await decodeStrict(tap, 4);
        expect(decoded.stderr.trim(), decoded.stderr).to.equal('');
        expect(decoded.frames).to.be.greaterThan(50);
      } finally {
        tap.close();
      }
    } finally {
      lease.release();
    }
  });

  it('keeps the viewer\'s consumer across a camera drop and return (same consumer, time never goes back)', async () => {
    const lease = await t.app.cameras.acquire('relay-drop');
    const waitState = async (state: string, withinMs: number) => {
      const deadline = Date.now() + withinMs;
      while (t.app.cameras.status('relay-drop')?.state !== state) {
        if (Date.now() > deadline) throw new Error(`camera not ${state} within ${withinMs} ms (${t.app.cameras.status('relay-drop')?.state})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      const feed = lease.feed!;
      const tap = await RtpTap.create(feed.host.router, feed.producer);
      const closes: string[] = [];
      tap.consumer.observer.once('close', () => closes.push('consumer closed'));
      tap.consumer.once('producerclose', () => closes.push('producer closed'));
      try {
        const packets = async () => ((await tap.consumer.getStats()).find((s) => s.type === 'outbound-rtp') as { packetCount?: number } | undefined)?.packetCount ?? 0;
        // One decoder for the whole run, across the drop: what a viewer's browser does.
        const decoding = decodeStrict(tap, 9);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const beforeDrop = await packets();
        expect(beforeDrop).to.be.greaterThan(20);
        drop.down = true;
        for (const socket of drop.sockets) socket.destroy();
        drop.sockets.clear();
        await waitState('backoff', 10_000);
        const droppedAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        drop.down = false;
        await waitState('live', 20_000);
        const backAfter = Date.now() - droppedAt;
        const atReturn = await packets();
        const decoded = await decoding;
        const afterReturn = await packets();
        console.log(`      live again ${backAfter} ms after the drop (camera down 1 s); ${afterReturn - atReturn} packets to the same consumer since; ${decoded.frames} frames decoded by one decoder across the drop`);
        expect(afterReturn).to.be.greaterThan(atReturn + 20);
        expect(decoded.stderr.trim(), decoded.stderr).to.equal('');
        expect(decoded.frames).to.be.greaterThan(100);
        const backwards = decoded.pts.filter((pts, i) => i > 0 && pts <= decoded.pts[i - 1]!);
        expect(backwards, 'presentation time never goes back across the reconnect').to.deep.equal([]);
        expect(closes).to.deep.equal([]);
        expect(tap.consumer.closed).to.equal(false);
        expect(t.app.cameras.status('relay-drop')?.restarts).to.be.at.least(1);
        expect(lease.feed).to.equal(feed);
        expect(feed.closed).to.equal(false);
      } finally {
        tap.close();
      }
    } finally {
      lease.release();
    }
  });

  const waitFor = async (what: string, check: () => boolean, withinMs: number) => {
    const deadline = Date.now() + withinMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('a camera that stops sending but keeps its connection: stalled, reconnected, the same consumer plays on', async () => {
    const lease = await t.app.cameras.acquire('relay-stall');
    const feed = lease.feed!;
    const tap = await RtpTap.create(feed.host.router, feed.producer);
    try {
      const stalledAt = Date.now();
      cams.stalling!.pauseVideo();
      await waitFor('stalled', () => t.app.cameras.status('relay-stall')?.state === 'backoff', 15_000);
      const status = t.app.cameras.status('relay-stall')!;
      console.log(`      stall detected ${Date.now() - stalledAt} ms after the camera went quiet (stall timeout 4000 ms): ${status.reason}`);
      expect(status.reason).to.equal('stalled');
      cams.stalling!.resumeVideo();
      await waitFor('live again', () => t.app.cameras.status('relay-stall')?.state === 'live', 20_000);
      expect(lease.feed).to.equal(feed);
      expect(tap.consumer.closed).to.equal(false);
      const decoded = await decodeStrict(tap, 2);
      expect(decoded.frames).to.be.greaterThan(20);
    } finally {
      tap.close();
      lease.release();
    }
  });

  it('keyframes only every 10 s: at once when the camera honours PLI, within the GOP and without a restart loop when it does not', async () => {
    const started = Date.now();
    const fast = await t.app.cameras.acquire('relay-long-gop');
    const fastMs = Date.now() - started;
    fast.release();
    const slowStarted = Date.now();
    const slow = await t.app.cameras.acquire('relay-long-gop-deaf');
    const slowMs = Date.now() - slowStarted;
    const status = t.app.cameras.status('relay-long-gop-deaf')!;
    slow.release();
    console.log(`      GOP 10 s: live in ${fastMs} ms when the camera honours PLI, ${slowMs} ms when it does not (restarts ${status.restarts})`);
    expect(fastMs).to.be.below(5000);
    expect(slowMs).to.be.below(12_000);
    expect(status.restarts).to.equal(0);
    expect(cams.longGop!.stats.rtcpPli).to.be.at.least(1);
  });

  it('camera clock steps of +5 s and -5 s: presentation time keeps running in real time, no stall over a second', async () => {
    const lease = await t.app.cameras.acquire('relay-jump');
    const tap = await RtpTap.create(lease.feed!.host.router, lease.feed!.producer);
    try {
      const decoding = decodeStrict(tap, 6);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      cams.jumping!.jumpTimestamps(5000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      cams.jumping!.jumpTimestamps(-5000);
      const decoded = await decoding;
      expect(decoded.stderr.trim(), decoded.stderr).to.equal('');
      expect(decoded.frames).to.be.greaterThan(100);
      expect(decoded.timeBase).to.be.within(1e-6, 0.1);
      const steps = decoded.pts.slice(1).map((pts, i) => (pts - decoded.pts[i]!) * decoded.timeBase);
      const worst = Math.max(...steps);
      console.log(`      ${decoded.frames} frames; presentation steps from ${(Math.min(...steps) * 1000).toFixed(0)} to ${(worst * 1000).toFixed(0)} ms (time base ${decoded.timeBase})`);
      expect(Math.min(...steps)).to.be.greaterThan(0);
      expect(worst, 'a camera clock step never shows as a jump of a second or more').to.be.below(1);
    } finally {
      tap.close();
      lease.release();
    }
  });

  it('20 Mbit/s from one camera: (almost) no packet lost between the relay and mediasoup', async () => {
    const lease = await t.app.cameras.acquire('relay-heavy');
    try {
      const feed = lease.feed!;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const sentBefore = cams.heavy!.stats.rtpPacketsSent;
      const before = await feed.getStats();
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const after = await feed.getStats();
      const sent = cams.heavy!.stats.rtpPacketsSent - sentBefore;
      const received = after.inPackets - before.inPackets;
      const mbps = ((after.inBytes - before.inBytes) * 8) / 5 / 1e6;
      console.log(`      ${mbps.toFixed(1)} Mbit/s into mediasoup; camera sent ${sent} packets, the producer received ${received}, lost ${after.lost - before.lost} in the window (${before.lost} before it)`);
      expect(mbps).to.be.greaterThan(15);
      // Measured here: 0 to 2 of ~9,500 (ffmpeg in between lost 1.6% at 16 Mbit/s). What is left are
      // 70-packet frame bursts overflowing mediasoup's default UDP receive buffer now and then.
      expect(after.lost - before.lost).to.be.at.most(Math.ceil(received * 0.001));
      expect(received).to.be.at.least(sent - 200);
    } finally {
      lease.release();
    }
  });

  it('a camera over UDP whose packets arrive out of order: each relayed under its own sequence number, decoded without a single error', async () => {
    const lease = await t.app.cameras.acquire('relay-udp-reorder');
    try {
      const reorderedBefore = cams.reorder!.stats.rtpPacketsReordered;
      const feed = lease.feed!;
      // A decoder with a reorder buffer (what a browser's jitter buffer does) must decode every frame;
      // one taking packets as they arrive must not, or the reordering never reached the viewer.
      const [ordered, unordered] = [await RtpTap.create(feed.host.router, feed.producer), await RtpTap.create(feed.host.router, feed.producer)];
      try {
        const [decoded, naive] = await Promise.all([decodeStrict(ordered, 6, { reorderQueue: 500 }), decodeStrict(unordered, 6, { reorderQueue: 0 })]);
        const reordered = cams.reorder!.stats.rtpPacketsReordered - reorderedBefore;
        const stats = await feed.getStats();
        console.log(`      ${reordered} packets reordered by the camera's network; ${decoded.frames} frames decoded in 6 s with a reorder buffer (exit ${decoded.code}), ${naive.frames} without (exit ${naive.code}: ${naive.stderr.trim().split('\n')[0]}); producer lost ${stats.lost}`);
        expect(decoded.stderr.trim(), decoded.stderr).to.equal('');
        expect(decoded.code).to.equal(0);
        expect(decoded.frames).to.be.greaterThan(100);
        const backwards = decoded.pts.filter((pts, i) => i > 0 && pts <= decoded.pts[i - 1]!);
        expect(backwards).to.deep.equal([]);
        expect(reordered, 'the camera reordered packets over UDP').to.be.greaterThan(30);
        expect(naive.stderr.trim(), 'a decoder without a reorder buffer sees the reordering').to.not.equal('');
      } finally {
        ordered.close();
        unordered.close();
      }
    } finally {
      lease.release();
    }
  });

  it('plays a camera whose SDP lists an audio track first and an unused codec in the H.264 m-line', async () => {
    const lease = await t.app.cameras.acquire('relay-audio-first');
    try {
      expect(cams.audioFirst!.requests.filter((r) => r.method === 'SETUP').map((r) => r.uri)).to.deep.equal([`${cams.audioFirst!.url()}/trackID=0`]);
      const tap = await RtpTap.create(lease.feed!.host.router, lease.feed!.producer);
      try {
        const decoded = await decodeStrict(tap, 3);
        console.log(`      ${decoded.frames} frames decoded in 3 s`);
        expect(decoded.stderr.trim(), decoded.stderr).to.equal('');
        expect(decoded.frames).to.be.greaterThan(40);
      } finally {
        tap.close();
      }
    } finally {
      lease.release();
    }
  });

  it('chooses the H.264 track with the largest picture, whatever comes first (audio, MJPEG, an unused codec line)', async () => {
    const small = await new RtspClient({ url: cams.jumping!.url(), timeoutMs: 3000 }).describe();
    const large = await new RtspClient({ url: cams.slices!.url(), timeoutMs: 3000 }).describe();
    const fmtp = (d: typeof small) => Object.entries(d.tracks[0]!.media.fmtp).map(([k, v]) => `${k}=${v}`).join(';');
    const sdp = [
      'v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=several tracks', 't=0 0',
      'm=audio 0 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=control:track-audio',
      'm=video 0 RTP/AVP 26', 'a=rtpmap:26 JPEG/90000', 'a=control:track-mjpeg',
      'm=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000', `a=fmtp:96 ${fmtp(small)}`, 'a=control:track-small',
      'm=video 0 RTP/AVP 97 98', 'a=rtpmap:97 H264/90000', `a=fmtp:97 ${fmtp(large)}`, 'a=rtpmap:98 H265/90000', 'a=control:track-large',
      '',
    ].join('\r\n');
    const camera = await ScriptedCamera.start({
      respond: (request, socket) => {
        if (request.method !== 'DESCRIBE') return false;
        socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${request.cseq}\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(sdp)}\r\n\r\n${sdp}`);
        return true;
      },
    });
    const relay = new RelayIngest({ camera: { id: 'tracks', url: camera.url(), transport: 'tcp' }, timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel' });
    try {
      const description = await relay.open();
      expect(description.source).to.deep.include({ codec: 'h264', width: 640, height: 360 });
    } finally {
      await relay.close();
      await camera.stop();
    }
  });
});
