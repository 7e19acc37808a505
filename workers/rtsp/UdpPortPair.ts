import dgram from 'node:dgram';
import net from 'node:net';
import { RtspError } from './RtspError.ts';

export interface UdpPortPairOptions {
  /** The camera's address: datagrams from any other source are dropped (no injection from elsewhere). */
  remoteAddress: string;
  onRtp(packet: Buffer): void;
  onRtcp(packet: Buffer): void;
  /** Receives the RTP itself instead of a dgram socket (onRtp is then never called). */
  externalRtp?: ExternalRtpPort;
}

/**
 * An RTP port bound and read by someone else than the RTSP client: the packet relay's native path
 * (relay_loop.c), which takes a camera's RTP without JavaScript.
 */
export interface ExternalRtpPort {
  /**
   * Binds UDP `port` (0: the kernel's choice) of `family`, taking datagrams from `remoteAddress`
   * only: the port bound, or undefined when it is taken. Throws on other failures. Binding again
   * replaces the previous socket.
   */
  bind(port: number, family: 4 | 6, remoteAddress: string): number | undefined;
  /** Closes the bound socket (idempotent). */
  close(): void;
}

/**
 * The two local UDP ports of one track received over UDP: RTP on an even port, RTCP on the next one
 * (RFC 3550 §11, RFC 2326 §12.39 client_port). Only the camera's address is listened to.
 */
export class UdpPortPair {
  #closed = false;
  /** Where RTCP goes (the camera's server_port RTCP side), once SETUP told us. */
  rtcpTarget: { address: string; port: number } | undefined;
  readonly stats = { dropped: 0 };

  private constructor(
    /** Undefined when an ExternalRtpPort receives the RTP. */
    readonly rtp: dgram.Socket | undefined,
    readonly rtcp: dgram.Socket,
    readonly rtpPort: number,
    private readonly options: UdpPortPairOptions,
  ) {
    const accept = (source: dgram.RemoteInfo) => {
      if (sameAddress(source.address, options.remoteAddress)) return true;
      this.stats.dropped++;
      return false;
    };
    rtp?.on('message', (packet, source) => accept(source) && options.onRtp(packet));
    rtcp.on('message', (packet, source) => accept(source) && options.onRtcp(packet));
    // A send to a closed port raises ICMP errors on some systems; they are not fatal for a receiver.
    rtp?.on('error', () => undefined);
    rtcp.on('error', () => undefined);
  }

  /** Binds an even port and the next one (up to 40 tries). Throws RtspError unsupported when none is free. */
  static async open(options: UdpPortPairOptions): Promise<UdpPortPair> {
    const type = net.isIPv6(options.remoteAddress) && !options.remoteAddress.startsWith('::ffff:') ? 'udp6' : 'udp4';
    const external = options.externalRtp;
    for (let attempt = 0; attempt < 40; attempt++) {
      // The RTP side: bound by the external port, or a dgram socket of ours.
      const rtp = external ? undefined : dgram.createSocket(type);
      const port = external ? external.bind(0, type === 'udp6' ? 6 : 4, options.remoteAddress.replace(/^::ffff:/, '')) : await bind(rtp!, 0);
      const releaseRtp = () => (external ? external.close() : rtp!.close());
      if (port === undefined || port % 2 !== 0 || port >= 65535) {
        releaseRtp();
        continue;
      }
      const rtcp = dgram.createSocket(type);
      if ((await bind(rtcp, port + 1)) === undefined) {
        releaseRtp();
        rtcp.close();
        continue;
      }
      return new UdpPortPair(rtp, rtcp, port, options);
    }
    throw new RtspError('unsupported', 'no free even/odd UDP port pair for RTP/RTCP');
  }

  get rtcpPort(): number {
    return this.rtpPort + 1;
  }

  /** Sends an RTCP packet (a receiver report or a keyframe request) to the camera's RTCP port. */
  sendRtcp(packet: Buffer): void {
    if (this.#closed || !this.rtcpTarget) return;
    try {
      this.rtcp.send(packet, this.rtcpTarget.port, this.rtcpTarget.address);
    } catch {
      // An unsendable target (validated by the SETUP parser, so not expected) drops the packet, never the caller.
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.rtp?.close();
    this.options.externalRtp?.close();
    this.rtcp.close();
  }
}

function bind(socket: dgram.Socket, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    socket.once('error', () => resolve(undefined));
    socket.bind(port, () => {
      socket.removeAllListeners('error');
      resolve(socket.address().port);
    });
  });
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const strip = (address: string) => (address.startsWith('::ffff:') ? address.slice(7) : address);
  return strip(a) === strip(b);
}
