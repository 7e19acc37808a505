/**
 * The slice type of an H.264 RTP packet that starts a slice (ITU-T H.264 §7.3.3: first_mb_in_slice
 * ue(v), then slice_type ue(v); §7.4.3: types 1 and 6 are B), for a single NAL unit packet or the
 * first fragment of an FU-A (RFC 6184 §5.6, §5.8). Undefined for anything else or a header too short
 * to read. Emulation prevention bytes cannot occur in the first two Exp-Golomb codes of a real slice
 * header, which this reads from at most 8 bytes.
 */
export function h264SliceType(rtpPayload: Buffer, start = 0): number | undefined {
  const first = rtpPayload[start];
  if (first === undefined) return undefined;
  let type = first & 0x1f;
  let offset = start + 1;
  if (type === 28) {
    const fuHeader = rtpPayload[start + 1];
    if (fuHeader === undefined || !(fuHeader & 0x80)) return undefined;
    type = fuHeader & 0x1f;
    offset = start + 2;
  }
  if (type !== 1 && type !== 5) return undefined;
  // Read from at most 8 bytes at `offset`, with no closure or view: this runs for every packet.
  return secondUe(rtpPayload, offset * 8, Math.min(rtpPayload.length, offset + 8) * 8);
}

/** The second of two ue(v) (H.264 §9.1) starting at bit `bit` of `bytes`, read before bit `limit`; undefined when it does not fit. */
function secondUe(bytes: Buffer, bit: number, limit: number): number | undefined {
  let value = 0;
  for (let n = 0; n < 2; n++) {
    let zeros = 0;
    for (;;) {
      if (bit >= limit || zeros > 31) return undefined;
      if (bitAt(bytes, bit++) === 1) break;
      zeros++;
    }
    if (bit + zeros > limit) return undefined;
    value = 0;
    for (let i = 0; i < zeros; i++) value = value * 2 + bitAt(bytes, bit++);
    value += 2 ** zeros - 1;
  }
  return value;
}

function bitAt(bytes: Buffer, bit: number): number {
  return (bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
}

/** Whether a slice type is B (1, or 6 when every slice of the picture has that type). */
export function isBSlice(sliceType: number | undefined): boolean {
  return sliceType !== undefined && sliceType % 5 === 1;
}
