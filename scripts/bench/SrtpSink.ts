/**
 * The receiving end of bench:fanout-srtp, run as its own process (pinned to a core by the parent):
 * one UDP socket that every SRTP PlainTransport of the benchmark sends to. It does not decrypt:
 * SRTP leaves the 12-byte RTP header in the clear, so the SSRC and sequence number of every packet
 * can be read as is, and gaps in a stream's sequence numbers are the lost packets.
 *
 * Talks to the parent over the IPC channel (spawned with an 'ipc' stdio slot):
 *   -> { type: 'ready', port, pid }                       once listening
 *   <- { type: 'snap', id }  -> SinkSnapshot              counters so far (parent diffs two)
 *   <- { type: 'forget' }                                 drop the streams seen so far (between trials)
 * Exits when the channel closes (the parent stopped or died). The parent imports only its types.
 */
import dgram from 'node:dgram';

export interface SinkStreamCounters {
  ssrc: number;
  received: number;
  /** extended highest sequence number - first sequence number + 1 */
  expected: number;
  bytes: number;
}

export interface SinkSnapshot {
  type: 'snap';
  id: number;
  /** performance.now() in the sink when the snapshot was taken */
  at: number;
  streams: SinkStreamCounters[];
  /** RTCP packets (payload type 200..206 in the second byte, muxed on the same port) */
  rtcp: number;
  /** packets too short to be RTP */
  runts: number;
  /**
   * Of every 64th RTP packet: how many had a first payload byte that reads as an H.264 NAL
   * header of the kinds this camera sends (types 1, 5, 7, 8, STAP-A, FU-A; F bit clear). Plain
   * RTP: most of them (~80% seen); SRTP: ~6/64 by chance, as the payload is encrypted.
   */
  sampled: number;
  clearH264: number;
}

export interface SinkReady {
  type: 'ready';
  port: number;
  pid: number;
}

class Stream {
  received = 0;
  bytes = 0;
  cycles = 0;
  constructor(
    readonly base: number,
    public maxSeq: number,
  ) {}
}

if (!process.send) {
  process.stderr.write('srtp sink: run me through SrtpSinkProcess (needs an IPC channel)\n');
  process.exit(2);
}
{
  const send = process.send.bind(process);
  const streams = new Map<number, Stream>();
  let rtcp = 0;
  let runts = 0;
  let packets = 0;
  let sampled = 0;
  let clearH264 = 0;
  const NAL_TYPES = new Set([1, 5, 7, 8, 24, 28]);

  // The biggest receive buffer an unprivileged socket may ask for (net.core.rmem_max) absorbs the
  // bursts of a keyframe fanned out to every consumer at once.
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  socket.on('message', (msg: Buffer) => {
    if (msg.length < 12) {
      runts++;
      return;
    }
    const pt = msg[1]!;
    if (pt >= 200 && pt <= 206) {
      rtcp++;
      return;
    }
    const seq = (msg[2]! << 8) | msg[3]!;
    const ssrc = msg.readUInt32BE(8);
    let s = streams.get(ssrc);
    if (!s) {
      s = new Stream(seq, seq);
      streams.set(ssrc, s);
    } else {
      const delta = (seq - s.maxSeq) & 0xffff;
      // RFC 3550 A.1: ahead by less than half the space is new (wrapping adds a cycle); else late.
      if (delta !== 0 && delta < 0x8000) {
        if (seq < s.maxSeq) s.cycles += 0x10000;
        s.maxSeq = seq;
      }
    }
    s.received++;
    s.bytes += msg.length;
    if ((++packets & 63) === 0) {
      let offset = 12 + (msg[0]! & 0x0f) * 4;
      if (msg[0]! & 0x10 && msg.length >= offset + 4) offset += 4 + msg.readUInt16BE(offset + 2) * 4;
      if (msg.length > offset) {
        sampled++;
        const nal = msg[offset]!;
        if ((nal & 0x80) === 0 && NAL_TYPES.has(nal & 0x1f)) clearH264++;
      }
    }
  });
  socket.on('error', (error) => {
    process.stderr.write(`srtp sink: ${error.message}\n`);
    process.exit(1);
  });
  socket.bind(0, '127.0.0.1', () => {
    send({ type: 'ready', port: socket.address().port, pid: process.pid } satisfies SinkReady);
  });

  process.on('message', (message: { type?: string; id?: number }) => {
    if (message.type === 'forget') streams.clear();
    if (message.type !== 'snap' || typeof message.id !== 'number') return;
    const out: SinkStreamCounters[] = [];
    for (const [ssrc, s] of streams) out.push({ ssrc, received: s.received, expected: s.cycles + s.maxSeq - s.base + 1, bytes: s.bytes });
    send({ type: 'snap', id: message.id, at: performance.now(), streams: out, rtcp, runts, sampled, clearH264 } satisfies SinkSnapshot);
  });
  process.on('disconnect', () => {
    socket.close();
    process.exit(0);
  });
}
