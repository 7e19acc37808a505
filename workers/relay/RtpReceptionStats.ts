/**
 * What a receiver knows about one RTP source (RFC 3550 §6.4.1, Appendix A.1/A.3/A.8): packets and
 * bytes received, packets lost (expected minus received, from the extended highest sequence number),
 * and the interarrival jitter. A new SSRC (a camera reconnect) starts a new count for loss and
 * jitter; the totals run on.
 */
export class RtpReceptionStats {
  packets = 0;
  /** Bytes of whole RTP packets. */
  bytes = 0;
  /** Lost in earlier sources (runs), plus the current one's. */
  #lostBefore = 0;
  #ssrc: number | undefined;
  #baseSequence = 0;
  /** Extended highest sequence number (cycles << 16 | sequence). */
  #maxExtended = 0;
  #received = 0;
  #jitter = 0;
  #lastTransit: number | undefined;

  constructor(private readonly clockRate = 90_000) {}

  /** Counts one RTP packet (its 12-byte header already checked) that arrived at `arrivalMs`. */
  push(packet: Buffer, arrivalMs: number): void {
    const ssrc = packet.readUInt32BE(8);
    const sequence = packet.readUInt16BE(2);
    const timestamp = packet.readUInt32BE(4);
    this.packets++;
    this.bytes += packet.length;
    if (ssrc !== this.#ssrc) {
      this.#lostBefore += this.#currentLost();
      this.#ssrc = ssrc;
      this.#baseSequence = sequence;
      this.#maxExtended = sequence;
      this.#received = 0;
      this.#jitter = 0;
      this.#lastTransit = undefined;
    }
    this.#received++;
    const highest = this.#maxExtended & 0xffff;
    const delta = (sequence - highest) & 0xffff;
    // A.1: ahead by less than half the space is new (possibly wrapped); otherwise late or duplicate.
    if (delta !== 0 && delta < 0x8000) this.#maxExtended += delta;
    // A.8: transit time in RTP units; the jitter is its mean deviation (gain 1/16).
    const transit = Math.round((arrivalMs * this.clockRate) / 1000) - timestamp;
    if (this.#lastTransit !== undefined) {
      let d = Math.abs(transit - this.#lastTransit);
      // The RTP timestamp wrapped (or the camera's clock stepped by more than half its range).
      if (d > 2 ** 31) d = 2 ** 32 - d;
      this.#jitter += (d - this.#jitter) / 16;
    }
    this.#lastTransit = transit;
  }

  #currentLost(): number {
    if (this.#ssrc === undefined) return 0;
    const expected = this.#maxExtended - this.#baseSequence + 1;
    return Math.max(0, expected - this.#received);
  }

  /** Packets lost so far (never negative: duplicates do not make up for losses elsewhere). */
  get lost(): number {
    return this.#lostBefore + this.#currentLost();
  }

  /** Interarrival jitter of the current source (ms). */
  get jitterMs(): number {
    return (this.#jitter * 1000) / this.clockRate;
  }
}
