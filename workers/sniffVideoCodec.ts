import { parseH264Sps } from './h264Sps.ts';

/**
 * What an RTP payload says its codec is, when it says so beyond doubt: an H.264 SPS (RFC 6184 single
 * NAL unit or the first unit of a STAP-A) that parses, or an H.265 VPS/SPS/PPS (RFC 7798 single NAL
 * unit or the first unit of an aggregation packet, layer 0, TemporalId 0). Anything else, slices
 * included (an H.265 IDR header reads as an H.264 SEI), is undefined. Used to catch an SDP that names
 * the wrong codec.
 */
export function sniffVideoCodec(payload: Buffer): 'h264' | 'h265' | undefined {
  if (payload.length < 3) return undefined;
  if (isH265ParameterSet(payload)) return 'h265';
  // H.265 aggregation packet (type 48): 2-byte header, then 2-byte size, then the first unit.
  if (payload[0] === 0x60 && payload[1] === 0x01 && payload.length > 6 && isH265ParameterSet(payload.subarray(4))) return 'h265';
  const type = payload[0]! & 0x1f;
  if (payload[0]! & 0x80) return undefined;
  if (type === 7) return isH264Sps(payload) ? 'h264' : undefined;
  if (type === 24 && payload.length > 4) {
    const size = payload.readUInt16BE(1);
    const first = payload.subarray(3, 3 + size);
    if (first.length === size && ((first[0] ?? 0) & 0x1f) === 7 && isH264Sps(first)) return 'h264';
  }
  return undefined;
}

function isH265ParameterSet(nal: Buffer): boolean {
  if (nal.length < 3 || (nal[0]! & 0x81) !== 0 || nal[1] !== 0x01) return false;
  const type = (nal[0]! >> 1) & 0x3f;
  return type >= 32 && type <= 34;
}

function isH264Sps(nal: Buffer): boolean {
  try {
    const sps = parseH264Sps(nal);
    return sps.width >= 16 && sps.height >= 16 && sps.width <= 16384 && sps.height <= 16384;
  } catch {
    return false;
  }
}
