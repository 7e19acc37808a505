/**
 * The few RTCP packets the relay writes and reads (RFC 3550 §6.4, RFC 4585 §6.3.1, RFC 5104 §4.3.1).
 * Every packet is one compound-ready RTCP packet with version 2 and no padding.
 */

/** Seconds between 1900 (NTP epoch) and 1970 (Unix epoch). */
const NTP_OFFSET = 2_208_988_800;

/**
 * A sender report (PT 200) without report blocks: our SSRC, the NTP time of now and the RTP timestamp
 * that goes with it, and the packet and octet counts sent (RFC 3550 §6.4.1).
 */
export function rtcpSenderReport(ssrc: number, rtpTimestamp: number, packets: number, octets: number, nowMs = Date.now()): Buffer {
  const packet = Buffer.alloc(28);
  packet[0] = 0x80;
  packet[1] = 200;
  packet.writeUInt16BE(6, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  const seconds = Math.floor(nowMs / 1000) + NTP_OFFSET;
  packet.writeUInt32BE(seconds >>> 0, 8);
  packet.writeUInt32BE(Math.floor(((nowMs % 1000) / 1000) * 2 ** 32) >>> 0, 12);
  packet.writeUInt32BE(rtpTimestamp >>> 0, 16);
  packet.writeUInt32BE(packets >>> 0, 20);
  packet.writeUInt32BE(octets >>> 0, 24);
  return packet;
}

/**
 * A receiver report (PT 201) with one report block about the camera's stream: no loss counted, the
 * highest sequence number received, no jitter or SR timing (RFC 3550 §6.4.2). It tells the camera
 * its stream is being received, which some cameras require to keep a session.
 */
export function rtcpReceiverReport(ssrc: number, mediaSsrc: number, highestSequence: number): Buffer {
  const packet = Buffer.alloc(32);
  packet[0] = 0x81;
  packet[1] = 201;
  packet.writeUInt16BE(7, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  packet.writeUInt32BE(highestSequence & 0xffff, 16);
  return packet;
}

/** A Picture Loss Indication (PSFB PT 206, FMT 1; RFC 4585 §6.3.1): "send a keyframe". */
export function rtcpPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = 0x81;
  packet[1] = 206;
  packet.writeUInt16BE(2, 2);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  return packet;
}

/** How many keyframe requests (PLI, FMT 1, or FIR, FMT 4, of PT 206) a compound RTCP packet holds; 0 for anything malformed. */
export function rtcpKeyframeRequests(compound: Buffer): number {
  let count = 0;
  for (let offset = 0; offset + 4 <= compound.length; ) {
    if (compound[offset]! >> 6 !== 2) return count;
    const length = (compound.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > compound.length) return count;
    const fmt = compound[offset]! & 0x1f;
    if (compound[offset + 1] === 206 && (fmt === 1 || fmt === 4)) count++;
    offset += length;
  }
  return count;
}
