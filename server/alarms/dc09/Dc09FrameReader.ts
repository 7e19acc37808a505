import { MAX_FRAME_BYTES } from './Dc09Frame.ts';

/** What a TCP stream gave: whole frames (LF .. CR), and what was thrown away on the way. */
export interface ReadFrames {
  frames: Buffer[];
  /** Bytes outside any frame (before an LF) or in a frame longer than the largest possible. */
  discarded: number;
}

/**
 * Cuts a panel's TCP byte stream into DC-09 frames: a frame starts at LF and ends at the next CR
 * (SIA DC-09: `LF crc 0LLL body CR`). Bytes before an LF are noise; a frame that grows past
 * MAX_FRAME_BYTES without its CR is dropped and reading resumes at the next LF. Holds at most one
 * frame's bytes. `pendingSince` tells the owner since when a frame has been incomplete, so a client
 * trickling bytes (or never sending the CR) can be cut off.
 */
export class Dc09FrameReader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #inFrame = false;
  /** Epoch ms of the first byte of the frame in progress (undefined between frames). */
  pendingSince: number | undefined;

  push(chunk: Buffer, now = Date.now()): ReadFrames {
    const frames: Buffer[] = [];
    let discarded = 0;
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.#inFrame) {
        const start = chunk.indexOf(0x0a, offset);
        if (start < 0) {
          discarded += chunk.length - offset;
          break;
        }
        discarded += start - offset;
        this.#inFrame = true;
        this.pendingSince = now;
        offset = start;
      }
      const end = chunk.indexOf(0x0d, offset);
      const piece = chunk.subarray(offset, end < 0 ? chunk.length : end + 1);
      // A second LF before the CR: the frame so far was cut short; the new one starts there. A piece that
      // continues a frame (bytes already pending) may start with that LF: a chunk beginning a new frame.
      const restart = piece.indexOf(0x0a, this.#pendingBytes > 0 ? 0 : 1);
      if (restart >= 0) {
        discarded += this.#pendingBytes + restart;
        this.#reset();
        offset += restart;
        continue;
      }
      if (this.#pendingBytes + piece.length > MAX_FRAME_BYTES) {
        discarded += this.#pendingBytes + piece.length;
        this.#reset();
        offset += piece.length;
        continue;
      }
      this.#pending.push(piece);
      this.#pendingBytes += piece.length;
      offset += piece.length;
      if (end >= 0) {
        frames.push(Buffer.concat(this.#pending, this.#pendingBytes));
        this.#reset();
      }
    }
    return { frames, discarded };
  }

  #reset(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#inFrame = false;
    this.pendingSince = undefined;
  }
}
