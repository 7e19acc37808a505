import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types } from 'mediasoup';

/** An even UDP port whose successor is free too (RTP + RTCP for ffmpeg's SDP input). */
async function freeUdpPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 10000);
    const sockets: dgram.Socket[] = [];
    try {
      for (const p of [port, port + 1]) {
        const socket = dgram.createSocket('udp4');
        sockets.push(socket);
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(p, '127.0.0.1', () => resolve());
        });
      }
      return port;
    } catch {
      // Taken: try another.
    } finally {
      for (const socket of sockets) socket.close();
    }
  }
  throw new Error('no free UDP port pair');
}

/**
 * Consumes a producer through a PlainTransport towards a local port, and writes the SDP that lets
 * ffmpeg/ffprobe decode what the consumer sends.
 */
export class RtpTap {
  private constructor(
    readonly transport: types.PlainTransport,
    readonly consumer: types.Consumer,
    readonly sdpPath: string,
    private readonly dir: string,
  ) {}

  static async create(router: types.Router, producer: types.Producer): Promise<RtpTap> {
    const port = await freeUdpPair();
    const transport = await router.createPlainTransport({ listenIp: '127.0.0.1', rtcpMux: false, comedia: false });
    try {
      await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
      const codec = consumer.rtpParameters.codecs[0];
      if (!codec) throw new Error('consumer without codec');
      const fmtp = Object.entries(codec.parameters ?? {})
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(';');
      const dir = mkdtempSync(join(tmpdir(), 'c5-tap-'));
      const sdpPath = join(dir, 'consumer.sdp');
      writeFileSync(
        sdpPath,
        [
          'v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=c5-tap', 'c=IN IP4 127.0.0.1', 't=0 0',
          `m=video ${port} RTP/AVP ${codec.payloadType}`,
          `a=rtcp:${port + 1}`,
          `a=rtpmap:${codec.payloadType} H264/90000`,
          `a=fmtp:${codec.payloadType} ${fmtp}`,
          'a=recvonly', '',
        ].join('\n'),
      );
      return new RtpTap(transport, consumer, sdpPath, dir);
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  /** ffmpeg input options for the SDP. */
  static readonly inputArgs = ['-protocol_whitelist', 'file,udp,rtp', '-reorder_queue_size', '0'];

  close(): void {
    this.transport.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
