import type dgram from 'node:dgram';
import type { UdpBatchAddon } from './native/udpBatch.ts';

/** Where H264RtpRewriter.forward() writes packets: room for one packet at a time in one buffer. */
export interface RtpOutput {
  /** Room for one packet of `length` bytes: its offset in `buffer` (read `buffer` after the call: it may be a new one). */
  reserve(length: number): number;
  readonly buffer: Buffer;
}

/** What a sender counts, in an object of its owner's (it outlives the sender). */
export interface RtpSendCounters {
  packetsOut: number;
  bytesOut: number;
  /** Packets with the marker bit: frames. */
  frames: number;
  /** RTP timestamp of the newest packet sent. */
  lastTimestamp: number;
}

/** Senders holding packets, flushed together once the event loop's current I/O is handled. */
const pending: RtpBatchSender[] = [];
let flushScheduled = false;

function flushPending(): void {
  flushScheduled = false;
  // A flush cannot add senders (it sends, it does not receive), so the list is read once.
  for (let i = 0; i < pending.length; i++) {
    try {
      pending[i]!.flush();
    } catch {
      // A socket closed under its sender (dgram throws): that camera's batch is lost, not the others'.
    }
  }
  pending.length = 0;
}

const INITIAL_BYTES = 16 * 1024;
const INITIAL_PACKETS = 32;

/**
 * One camera's RTP on its way to its PlainTransport, over a connected UDP socket. The packets of
 * one event-loop turn (one batch of datagrams or one TCP read from the camera) are written into one
 * buffer and sent together after it (setImmediate): with the udp_batch addon in one sendmmsg call
 * and no object per packet, else one dgram send each.
 *
 * `counters` (packets, bytes, frames: marker bits, and the newest timestamp) count what was sent.
 */
export class RtpBatchSender implements RtpOutput {
  buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  /** End offset of each held packet in `buffer` (the first starts at 0). */
  #ends = new Uint32Array(INITIAL_PACKETS);
  #count = 0;
  #used = 0;
  #queued = false;
  #closed = false;
  /** Packets the addon could not send at once (the socket would block): they went through dgram. */
  fallbackSends = 0;

  /**
   * `socket` must be connected before the first flush. `addon` with `fd` (the socket's descriptor,
   * see openRtpSocket) sends batches with sendmmsg; without them every packet goes through dgram.
   */
  constructor(
    private readonly socket: dgram.Socket,
    readonly counters: RtpSendCounters = { packetsOut: 0, bytesOut: 0, frames: 0, lastTimestamp: 0 },
    private readonly native?: { addon: UdpBatchAddon; fd: number },
  ) {}

  get batched(): boolean {
    return this.native !== undefined;
  }

  /** Packets waiting for the flush. */
  get held(): number {
    return this.#count;
  }

  reserve(length: number): number {
    const offset = this.#used;
    if (offset + length > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, offset + length));
      this.buffer.copy(grown, 0, 0, offset);
      this.buffer = grown;
    }
    if (this.#count === this.#ends.length) {
      const grown = new Uint32Array(this.#ends.length * 2);
      grown.set(this.#ends);
      this.#ends = grown;
    }
    this.#used = offset + length;
    this.#ends[this.#count++] = this.#used;
    if (!this.#queued) {
      this.#queued = true;
      pending.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushPending);
      }
    }
    return offset;
  }

  /** Sends what is held now (normally left to the turn's end). */
  flush(): void {
    this.#queued = false;
    const count = this.#count;
    if (count === 0) return;
    const buffer = this.buffer;
    const ends = this.#ends;
    this.#count = 0;
    this.#used = 0;
    if (this.#closed) return;
    const counters = this.counters;
    let start = 0;
    for (let i = 0; i < count; i++) {
      if (buffer[start + 1]! & 0x80) counters.frames++;
      start = ends[i]!;
    }
    counters.packetsOut += count;
    counters.bytesOut += ends[count - 1]!;
    counters.lastTimestamp = buffer.readUInt32BE(count === 1 ? 4 : ends[count - 2]! + 4);
    let sent = 0;
    // Packets dgram still queues (it sends in order) must not be overtaken.
    if (this.native && this.socket.getSendQueueCount() === 0) sent = this.native.addon.sendBatch(this.native.fd, buffer, ends, count);
    if (sent === count) return;
    this.fallbackSends += count - sent;
    start = sent === 0 ? 0 : ends[sent - 1]!;
    for (let i = sent; i < count; i++) {
      // Connected: no address. An unsendable packet is dropped (the socket's 'error' is ignored).
      this.socket.send(buffer, start, ends[i]! - start);
      start = ends[i]!;
    }
    // dgram keeps views of `buffer` for the sends it queued: the next batch gets a new one.
    if (this.socket.getSendQueueCount() > 0) this.buffer = Buffer.allocUnsafe(buffer.length);
  }

  /** Held packets are dropped; the socket is the owner's to close. */
  close(): void {
    this.#closed = true;
    this.#count = 0;
    this.#used = 0;
  }
}
