/**
 * What a receiver knows about one RTP source (RFC 3550 §6.4.1, Appendix A.1/A.3/A.8): packets and
 * bytes received, packets lost (expected minus received, from the extended highest sequence number),
 * and the interarrival jitter. A new SSRC, a sequence jump beyond RFC 3550's MAX_DROPOUT /
 * MAX_MISORDER, or restart() (a new run of the camera) starts a new count for loss and jitter; the
 * totals run on.
 */
/** RFC 3550 A.1. */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;

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
    const highest = this.#maxExtended & 0xffff;
    const delta = (sequence - highest) & 0xffff;
    // A.1: a jump of more than MAX_DROPOUT ahead, or more than MAX_MISORDER back, is a restarted
    // source (a camera reconnecting may keep its SSRC and start its sequence anew).
    const restarted = delta !== 0 && (delta < 0x8000 ? delta > MAX_DROPOUT : 0x10000 - delta > MAX_MISORDER);
    if (ssrc !== this.#ssrc || restarted) this.restart(ssrc, sequence);
    this.#received++;
    // Ahead by less than half the space is new (possibly wrapped); otherwise late or a duplicate.
    const ahead = (sequence - (this.#maxExtended & 0xffff)) & 0xffff;
    if (ahead !== 0 && ahead < 0x8000) this.#maxExtended += ahead;
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

  /**
   * Starts a new count for loss and jitter (a new run of the camera, or a restarted source); the
   * totals and the loss counted so far are kept.
   */
  restart(ssrc?: number, sequence?: number): void {
    this.#lostBefore += this.#currentLost();
    this.#ssrc = ssrc;
    this.#baseSequence = sequence ?? 0;
    this.#maxExtended = sequence ?? 0;
    this.#received = 0;
    this.#jitter = 0;
    this.#lastTransit = undefined;
  }

  #currentLost(): number {
    if (this.#ssrc === undefined) return 0;
    const expected = this.#maxExtended - this.#baseSequence + 1;
    return Math.max(0, expected - this.#received);
  }

  /**
   * Packets lost so far: expected minus received, per source (A.3). Duplicates count as received, as
   * RFC 3550 says, so a duplicate can hide a loss; the count is never negative.
   */
  get lost(): number {
    return this.#lostBefore + this.#currentLost();
  }

  /** Interarrival jitter of the current source (ms). */
  get jitterMs(): number {
    return (this.#jitter * 1000) / this.clockRate;
  }
}
