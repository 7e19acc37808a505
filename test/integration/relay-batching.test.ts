import { loadConfig } from '../../server/config/loadConfig.ts';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { RtpBatchSender } from '../../workers/relay/RtpBatchSender.ts';
import { udpBatchAddon, type UdpBatchAddon } from '../../workers/relay/native/udpBatch.ts';

/**
 * The relay's batched sending (workers/relay/RtpBatchSender.ts, udp_batch.c): whatever the batch
 * (one packet, a frame of MTU-sized fragments and a shorter last one, which the addon sends as one
 * segmented datagram, runs longer than one sendmmsg or one UDP_SEGMENT datagram takes, odd sizes),
 * a UDP receiver gets every packet, in order, byte for byte: with the addon, with dgram (the
 * fallback), and with the addon's socket unable to take the whole batch.
 */
const addon = udpBatchAddon(() => undefined);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Sizes of the batches (one event-loop turn each), as a camera would fill them. */
const BATCHES: number[][] = [
  [1400],
  // a P frame: fragments at the MTU, a shorter last one
  [1400, 1400, 1400, 700],
  // an IDR after an inserted STAP-A [SPS, PPS], then a P frame in the same turn
  [38, 1400, 1400, 1400, 1400, 1400, 1400, 1400, 1400, 1399, 1400, 1400, 120],
  // small packets of one size, then a longer one (not part of the run)
  [60, 60, 60, 60, 900],
  // more than one sendmmsg call (64 messages) and than one segmented datagram (64 segments)
  Array.from({ length: 150 }, (_, i) => (i % 50 === 49 ? 333 : 1200)),
  Array.from({ length: 140 }, (_, i) => 13 + ((i * 97) % 1400)),
  [12],
];

interface Receiver {
  port: number;
  packets: Buffer[];
  close(): void;
}

async function receiver(): Promise<Receiver> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  const packets: Buffer[] = [];
  socket.on('message', (packet) => packets.push(packet));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, packets, close: () => socket.close() };
}

async function connectedSocket(port: number, fd?: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => (fd === undefined ? socket.bind(0, '127.0.0.1', resolve) : socket.bind({ fd }, resolve)));
  await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
  return socket;
}

/** Packet `index` of `size` bytes: an RTP-like header (marker on every third), then bytes derived from the index. */
function fill(buffer: Buffer, offset: number, index: number, size: number): void {
  for (let i = 0; i < size; i++) buffer[offset + i] = (index * 31 + i * 7) & 0xff;
  if (size >= 12) {
    buffer[offset] = 0x80;
    buffer[offset + 1] = index % 3 === 0 ? 0xe6 : 0x66;
    buffer.writeUInt16BE(index & 0xffff, offset + 2);
    buffer.writeUInt32BE(index * 3600, offset + 4);
  }
}

function expected(index: number, size: number): Buffer {
  const packet = Buffer.alloc(size);
  fill(packet, 0, index, size);
  return packet;
}

/** Sends BATCHES through `sender`, one turn each; resolves with what the receiver got (in arrival order). */
async function relay(sender: RtpBatchSender, sink: Receiver): Promise<{ sent: Buffer[]; received: Buffer[] }> {
  const sent: Buffer[] = [];
  for (const sizes of BATCHES) {
    for (const size of sizes) {
      const index = sent.length;
      const offset = sender.reserve(size);
      fill(sender.buffer, offset, index, size);
      sent.push(expected(index, size));
    }
    await turn();
    expect(sender.held, 'flushed at the end of the turn').to.equal(0);
  }
  const deadline = Date.now() + 5000;
  while (sink.packets.length < sent.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { sent, received: sink.packets };
}

function expectSame(received: Buffer[], sent: Buffer[]): void {
  expect(received.length, 'packets received').to.equal(sent.length);
  const lengths = (list: Buffer[]) => list.map((p) => p.length).join(',');
  expect(lengths(received), 'sizes, in order').to.equal(lengths(sent));
  received.forEach((packet, i) => expect(packet.equals(sent[i]!), `packet ${i} intact`).to.equal(true));
}

function expectCounters(sender: RtpBatchSender, sent: Buffer[]): void {
  expect(sender.counters.packetsOut).to.equal(sent.length);
  expect(sender.counters.bytesOut).to.equal(sent.reduce((sum, p) => sum + p.length, 0));
  expect(sender.counters.frames).to.equal(sent.filter((p) => p.length >= 12 && p[1]! & 0x80).length);
}

describe('relay batched sending', function () {
  this.timeout(20_000);

  it('with the udp_batch addon (sendmmsg, UDP_SEGMENT): every packet, in order, intact', async function () {
    if (!addon) this.skip(); // not built: scripts/bootstrap.sh (workers/relay/native/build.sh) builds it
    const sink = await receiver();
    const fd = addon!.openUdp4();
    const socket = await connectedSocket(sink.port, fd);
    try {
      const sender = new RtpBatchSender(socket, undefined, { addon: addon!, fd });
      expect(sender.batched).to.equal(true);
      const { sent, received } = await relay(sender, sink);
      expectSame(received, sent);
      expectCounters(sender, sent);
      expect(sender.fallbackSends, 'nothing went through dgram').to.equal(0);
      expect(sender.counters.lastTimestamp).to.equal(sent[sent.length - 1]!.readUInt32BE(4));
    } finally {
      socket.close();
      sink.close();
    }
  });

  it('without the addon (one dgram send per packet): every packet, in order, intact', async () => {
    const sink = await receiver();
    const socket = await connectedSocket(sink.port);
    try {
      const sender = new RtpBatchSender(socket);
      expect(sender.batched).to.equal(false);
      const { sent, received } = await relay(sender, sink);
      expectSame(received, sent);
      expectCounters(sender, sent);
    } finally {
      socket.close();
      sink.close();
    }
  });

  it('when the socket takes only part of a batch, dgram sends the rest, still in order', async function () {
    if (!addon) this.skip();
    const sink = await receiver();
    const fd = addon!.openUdp4();
    const socket = await connectedSocket(sink.port, fd);
    try {
      // The addon stops where the socket would block (EAGAIN): here after half of each batch.
      const blocking: UdpBatchAddon = { ...addon!, sendBatch: (f, arena, ends, count) => addon!.sendBatch(f, arena, ends, Math.floor(count / 2)) };
      const sender = new RtpBatchSender(socket, undefined, { addon: blocking, fd });
      const { sent, received } = await relay(sender, sink);
      expectSame(received, sent);
      expect(sender.fallbackSends).to.be.greaterThan(0);
    } finally {
      socket.close();
      sink.close();
    }
  });

  it('close() drops what is held: nothing is written to the socket after it', async () => {
    const sink = await receiver();
    const socket = await connectedSocket(sink.port);
    try {
      const sender = new RtpBatchSender(socket);
      fill(sender.buffer, sender.reserve(100), 0, 100);
      sender.close();
      await turn();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(sink.packets).to.have.length(0);
      expect(sender.counters.packetsOut).to.equal(0);
    } finally {
      socket.close();
      sink.close();
    }
  });

  it('INGEST_RELAY_NATIVE=false is config ingest.relayNative false (the relay then asks for no addon); a missing addon leaves it on dgram, said once', async () => {
    expect(loadConfig({ configDir: '/nonexistent', env: { INGEST_RELAY_NATIVE: 'false' } }).ingest.relayNative).to.equal(false);
    expect(loadConfig({ configDir: '/nonexistent', env: {} }).ingest.relayNative).to.equal(true);
    const loader = fileURLToPath(new URL('../../workers/relay/native/udpBatch.ts', import.meta.url));
    const probe = `const { udpBatchAddon } = await import(${JSON.stringify(loader)}); const lines = []; const log = (l) => lines.push(l); console.log(JSON.stringify({ loaded: udpBatchAddon(log) !== undefined, again: udpBatchAddon(log) !== undefined, lines }));`;
    const run = async (env: Record<string, string>) => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { env: { ...process.env, ...env } });
      return JSON.parse(stdout) as { loaded: boolean; again: boolean; lines: string[] };
    };
    const missing = await run({ C5_CACHE_DIR: '/nonexistent/c5-cache' });
    expect(missing.loaded).to.equal(false);
    expect(missing.lines).to.have.length(1);
    expect(missing.lines[0]).to.match(/native code unavailable .*not built/);
    if (addon) expect((await run({})).loaded, 'built: loaded by default').to.equal(true);
  });
});
