import dgram from 'node:dgram';
import { expect } from 'chai';
import { RelayIngest } from '../../workers/RelayIngest.ts';
import type { IngestProgress } from '../../workers/Ingest.ts';
import { rtcpPli } from '../../workers/relay/rtcp.ts';
import { udpBatchAddon } from '../../workers/relay/native/udpBatch.ts';
import { NativeRelay, RELAY_EVENT, addressBytes } from '../../workers/relay/native/NativeRelay.ts';
import { ScriptedCamera } from '../support/ScriptedCamera.ts';

/**
 * The relay's native path (relay_loop.c) end to end: a camera pulled over UDP by RelayIngest, its
 * RTP taken, rewritten and sent by the addon to a UDP receiver standing in for the PlainTransport.
 * Checked: the native path carries the run (and TCP, or a camera that answers UDP with 461, the
 * JavaScript one); what arrives is the camera's stream under our SSRC and payload type, every
 * packet in order; datagrams from another address are dropped and counted; the progress reports
 * (frames, rate, reception, size from the SPS) come from the native counters; sender reports reach
 * the RTCP port; a viewer's PLI reaches the camera on both paths; a full output socket delays
 * packets without losing or reordering them; a restart continues the sequence; close() frees the port.
 */
const addon = udpBatchAddon(() => undefined);

interface Target {
  rtpPort: number;
  rtcpPort: number;
  rtp: Buffer[];
  rtcp: Buffer[];
  close(): void;
}

async function target(): Promise<Target> {
  const rtpSocket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  const rtcpSocket = dgram.createSocket('udp4');
  const rtp: Buffer[] = [];
  const rtcp: Buffer[] = [];
  rtpSocket.on('message', (packet) => rtp.push(packet));
  rtcpSocket.on('message', (packet) => rtcp.push(packet));
  await Promise.all([rtpSocket, rtcpSocket].map((socket) => new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))));
  return {
    rtpPort: rtpSocket.address().port,
    rtcpPort: rtcpSocket.address().port,
    rtp,
    rtcp,
    close: () => {
      rtpSocket.close();
      rtcpSocket.close();
    },
  };
}

const waitFor = async (condition: () => boolean, ms: number, what: string) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** The client RTP port of the camera's last UDP SETUP (Transport: client_port=a-b). */
function clientRtpPort(camera: ScriptedCamera): number {
  const setups = camera.requests.filter((request) => request.method === 'SETUP');
  const transport = setups.at(-1)?.headers.find(([name]) => name.toLowerCase() === 'transport')?.[1] ?? '';
  const match = /client_port=(\d+)/.exec(String(transport));
  if (!match) throw new Error(`no client_port in ${String(transport)}`);
  return Number(match[1]);
}

describe('relay native path: a UDP camera through relay_loop.c (issue 20)', function () {
  this.timeout(30_000);
  before(function () {
    // bootstrap.sh builds the addon; without gcc the relay uses the JavaScript path (relay.test.ts).
    if (!addon) this.skip();
  });

  let camera: ScriptedCamera;
  let out: Target;
  let relay: RelayIngest | undefined;
  beforeEach(async () => {
    camera = await ScriptedCamera.start({ video: { width: 640, height: 360, fps: 25, gop: 25, slices: 2 }, udp: 'ok' });
    out = await target();
  });
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    out.close();
    await camera.stop();
  });

  it('relays a UDP camera natively: our SSRC and payload type, in order, progress from the native counters, sender reports, foreign datagrams dropped', async () => {
    relay = new RelayIngest({ camera: { id: 'native', url: camera.url(), transport: 'udp' }, timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel' });
    const description = await relay.open();
    const progress: IngestProgress[] = [];
    relay.on('progress', (report) => progress.push(report));
    const flowing = new Promise<void>((resolve) => relay!.once('flowing', () => resolve()));
    relay.start({ ip: '127.0.0.1', rtpPort: out.rtpPort, rtcpPort: out.rtcpPort });
    await flowing;
    expect(relay.receivePath).to.equal('native');

    // Someone else sends to the camera's port: dropped, counted, never forwarded.
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.2', resolve));
    const forged = Buffer.alloc(100, 0x41);
    forged[0] = 0x80;
    for (let i = 0; i < 20; i++) stranger.send(forged, clientRtpPort(camera), '127.0.0.1');
    await waitFor(() => progress.length >= 3, 10_000, 'three progress reports');
    stranger.close();

    const native = relay.nativeStats!;
    expect(native.sourceDropped, 'datagrams from 127.0.0.2').to.equal(20);
    expect(out.rtp.some((packet) => packet.includes(Buffer.alloc(20, 0x41))), 'a forged payload forwarded').to.equal(false);
    expect(native.sendDropped).to.equal(0);

    // What reached the target: our SSRC and payload type, consecutive sequence numbers from an IDR on.
    expect(out.rtp.length).to.be.greaterThan(100);
    for (const packet of out.rtp) {
      expect(packet.readUInt32BE(8)).to.equal(description.ssrc);
      expect(packet[1]! & 0x7f).to.equal(102);
    }
    for (let i = 1; i < out.rtp.length; i++) expect((out.rtp[i]!.readUInt16BE(2) - out.rtp[i - 1]!.readUInt16BE(2)) & 0xffff).to.equal(1);
    const firstNal = out.rtp[0]![12]! & 0x1f;
    expect([5, 7, 24, 28], 'starts at a keyframe (or its parameter sets)').to.include(firstNal);
    expect(native.sent.packets).to.be.at.least(out.rtp.length - 5);

    const last = progress.at(-1)!;
    expect(last.fps).to.be.within(15, 35);
    expect(last).to.include({ width: 640, height: 360 });
    expect(last.packets).to.be.greaterThan(100);
    expect(last.lost).to.equal(0);
    expect(last.keyframeIntervalMs).to.be.within(500, 1500);
    // Sender reports (PT 200) with our SSRC reached the RTCP port.
    await waitFor(() => out.rtcp.length > 0, 3000, 'a sender report');
    expect(out.rtcp[0]![1]).to.equal(200);
    expect(out.rtcp[0]!.readUInt32BE(4)).to.equal(description.ssrc);

    // A new run (the camera's session re-established): the sequence continues where it stopped.
    await relay.stop();
    const before = out.rtp.length;
    const lastSeq = out.rtp.at(-1)!.readUInt16BE(2);
    await relay.open();
    const again = new Promise<void>((resolve) => relay!.once('flowing', () => resolve()));
    relay.start({ ip: '127.0.0.1', rtpPort: out.rtpPort, rtcpPort: out.rtcpPort });
    await again;
    await waitFor(() => out.rtp.length > before + 10, 5000, 'packets of the second run');
    expect(relay.receivePath).to.equal('native');
    expect(out.rtp[before]!.readUInt16BE(2)).to.equal((lastSeq + 1) & 0xffff);
    const port = clientRtpPort(camera);
    await relay.close();
    relay = undefined;

    // The port is free again.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(port, () => resolve());
    });
    probe.close();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`a viewer's keyframe request (PLI through the RTCP port) reaches the camera (${transport}: ${transport === 'udp' ? 'native' : 'JavaScript'} path)`, async () => {
      // A long GOP: the camera's own keyframes do not come in the test's time.
      const longGop = await ScriptedCamera.start({ video: { width: 320, height: 180, fps: 25, gop: 250, slices: 1 }, udp: 'ok', honourPli: true });
      const rtcpFrom: dgram.RemoteInfo[] = [];
      const rtcpSocket = dgram.createSocket('udp4');
      rtcpSocket.on('message', (_packet, from) => rtcpFrom.push(from));
      await new Promise<void>((resolve) => rtcpSocket.bind(0, '127.0.0.1', resolve));
      try {
        relay = new RelayIngest({ camera: { id: `pli-${transport}`, url: longGop.url(), transport }, timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel' });
        const description = await relay.open();
        const flowing = new Promise<void>((resolve) => relay!.once('flowing', () => resolve()));
        relay.start({ ip: '127.0.0.1', rtpPort: out.rtpPort, rtcpPort: rtcpSocket.address().port });
        await flowing;
        expect(relay.receivePath).to.equal(transport === 'udp' ? 'native' : 'javascript');
        await waitFor(() => rtcpFrom.length > 0, 3000, 'a sender report');
        // The start-up request (waiting for the first keyframe) may have gone; wait out the 1 s gap.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const before = longGop.stats.rtcpPli;
        rtcpSocket.send(rtcpPli(12345, description.ssrc), rtcpFrom[0]!.port, rtcpFrom[0]!.address);
        await waitFor(() => longGop.stats.rtcpPli > before, 3000, 'the PLI at the camera');
      } finally {
        await relay?.close();
        relay = undefined;
        rtcpSocket.close();
        await longGop.stop();
      }
    });
  }

  it('a full output socket: packets wait in the camera\'s backlog and leave in order, none lost', async () => {
    addon!.relayTestRefuseSends(2);
    try {
      relay = new RelayIngest({ camera: { id: 'full', url: camera.url(), transport: 'udp' }, timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel' });
      await relay.open();
      const flowing = new Promise<void>((resolve) => relay!.once('flowing', () => resolve()));
      relay.start({ ip: '127.0.0.1', rtpPort: out.rtpPort, rtcpPort: out.rtcpPort });
      await flowing;
      await waitFor(() => out.rtp.length > 150, 10_000, '150 packets');
    } finally {
      addon!.relayTestRefuseSends(0);
    }
    expect(relay.receivePath).to.equal('native');
    const stats = relay.nativeStats!;
    expect(stats.deferred, 'packets that waited for the socket').to.be.greaterThan(0);
    expect(stats.sendDropped).to.equal(0);
    for (let i = 1; i < out.rtp.length; i++) expect((out.rtp[i]!.readUInt16BE(2) - out.rtp[i - 1]!.readUInt16BE(2)) & 0xffff, `packet ${i}`).to.equal(1);
  });

  it('packets to sniff reach JavaScript as copies while inspection is on, and not after', async () => {
    const seen: Buffer[] = [];
    const native = new NativeRelay(addon!, { ssrc: 1, payloadType: 102 }, (flags, packet) => {
      if (flags & RELAY_EVENT.inspect && packet) seen.push(Buffer.from(packet));
    });
    const output = dgram.createSocket('udp4');
    const sender = dgram.createSocket('udp4');
    try {
      const fd = addon!.openUdp4();
      await new Promise<void>((resolve) => output.bind({ fd }, resolve));
      await new Promise<void>((resolve) => output.connect(out.rtpPort, '127.0.0.1', resolve));
      const port = native.bind(4, 0, addressBytes('127.0.0.1'))!;
      native.setOutput(fd);
      native.inspect(true);
      await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
      const packet = Buffer.from('80e0000100000e1000000001674d001f0a', 'hex');
      sender.send(packet, port, '127.0.0.1');
      await waitFor(() => seen.length === 1, 3000, 'the inspected packet');
      expect(seen[0]!.equals(packet)).to.equal(true);
      native.inspect(false);
      packet.writeUInt16BE(2, 2);
      sender.send(packet, port, '127.0.0.1');
      await waitFor(() => native.stats().reception.packets === 2, 3000, 'the second packet');
      expect(seen).to.have.length(1);
    } finally {
      native.destroy();
      output.close();
      sender.close();
    }
  });

  it('a camera that alternates between the paths (UDP, then 461 and TCP, then UDP): sequence numbers and timestamps continue, never back', async () => {
    relay = new RelayIngest({ camera: { id: 'alternating', url: camera.url(), transport: 'udp' }, timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel' });
    const paths: Array<string | undefined> = [];
    const runStarts: number[] = [];
    for (const udp of ['ok', 461, 'ok'] as const) {
      (camera.options as { udp?: 'ok' | 461 }).udp = udp;
      await relay.open();
      const flowing = new Promise<void>((resolve) => relay!.once('flowing', () => resolve()));
      runStarts.push(out.rtp.length);
      relay.start({ ip: '127.0.0.1', rtpPort: out.rtpPort, rtcpPort: out.rtcpPort });
      await flowing;
      paths.push(relay.receivePath);
      const before = out.rtp.length;
      await waitFor(() => out.rtp.length > before + 40, 5000, 'packets of the run');
      await relay.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(paths).to.deep.equal(['native', 'javascript', 'native']);
    // Every packet follows the one before: across the runs too (each run starts at an IDR).
    for (let i = 1; i < out.rtp.length; i++) {
      const step = (out.rtp[i]!.readUInt16BE(2) - out.rtp[i - 1]!.readUInt16BE(2)) & 0xffff;
      expect(step, `sequence step at packet ${i} (runs start at ${runStarts.join(', ')})`).to.equal(1);
      const tsStep = (out.rtp[i]!.readUInt32BE(4) - out.rtp[i - 1]!.readUInt32BE(4)) | 0;
      // Within a run a frame's step; between runs the wall-clock time between them (about a second here).
      expect(tsStep, `timestamp step at packet ${i}`).to.be.within(0, 5 * 90_000);
    }
  });

  it('a camera over TCP, one that answers a UDP SETUP with 461, or any with native code switched off, takes the JavaScript path', async () => {
    const refusing = await ScriptedCamera.start({ udp: 461, video: { width: 640, height: 360, fps: 25, gop: 25, slices: 1 } });
    try {
      for (const [url, transport, nativeSending] of [
        [camera.url(), 'tcp', true],
        [refusing.url(), 'udp', true],
        // INGEST_RELAY_NATIVE=false: UDP through dgram and the JavaScript rewriter.
        [camera.url(), 'udp', false],
      ] as const) {
        relay = new RelayIngest({ camera: { id: `js-${transport}`, url, transport }, timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel', nativeSending });
        await relay.open();
        const flowing = new Promise<void>((resolve) => relay!.once('flowing', () => resolve()));
        relay.start({ ip: '127.0.0.1', rtpPort: out.rtpPort, rtcpPort: out.rtcpPort });
        await flowing;
        expect(relay.receivePath, url).to.equal('javascript');
        await relay.close();
        relay = undefined;
      }
    } finally {
      await refusing.stop();
    }
  });
});
