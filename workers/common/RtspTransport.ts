/** How RTP travels from a camera: interleaved in the RTSP TCP connection, or as UDP datagrams (RFC 2326 §10.12). */
export const rtspTransports = ['tcp', 'udp'] as const;
export type RtspTransport = (typeof rtspTransports)[number];
