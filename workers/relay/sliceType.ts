/**
 * The slice type of an H.264 RTP packet that starts a slice (ITU-T H.264 §7.3.3: first_mb_in_slice
 * ue(v), then slice_type ue(v); §7.4.3: types 1 and 6 are B), for a single NAL unit packet or the
 * first fragment of an FU-A (RFC 6184 §5.6, §5.8). Undefined for anything else or a header too short
 * to read. Emulation prevention bytes cannot occur in the first two Exp-Golomb codes of a real slice
 * header, which this reads from at most 8 bytes.
 */
export function h264SliceType(rtpPayload: Buffer): number | undefined {
  const first = rtpPayload[0];
  if (first === undefined) return undefined;
  let type = first & 0x1f;
  let offset = 1;
  if (type === 28) {
    const fuHeader = rtpPayload[1];
    if (fuHeader === undefined || !(fuHeader & 0x80)) return undefined;
    type = fuHeader & 0x1f;
    offset = 2;
  }
  if (type !== 1 && type !== 5) return undefined;
  const bytes = rtpPayload.subarray(offset, offset + 8);
  let bit = 0;
  const readBit = (): number | undefined => {
    const byte = bytes[bit >> 3];
    if (byte === undefined) return undefined;
    const value = (byte >> (7 - (bit & 7))) & 1;
    bit++;
    return value;
  };
  const readUe = (): number | undefined => {
    let zeros = 0;
    for (;;) {
      const b = readBit();
      if (b === undefined || zeros > 31) return undefined;
      if (b === 1) break;
      zeros++;
    }
    let value = 0;
    for (let i = 0; i < zeros; i++) {
      const b = readBit();
      if (b === undefined) return undefined;
      value = value * 2 + b;
    }
    return 2 ** zeros - 1 + value;
  };
  if (readUe() === undefined) return undefined;
  return readUe();
}

/** Whether a slice type is B (1, or 6 when every slice of the picture has that type). */
export function isBSlice(sliceType: number | undefined): boolean {
  return sliceType !== undefined && sliceType % 5 === 1;
}
