import dgram from 'node:dgram';
import { IngestError } from './IngestError.ts';

/** A UDP socket bound on 127.0.0.1 (`port` 0: any free port); rejects when the port is taken. */
export function bindLoopback(port = 0): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.bind(port, '127.0.0.1', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

/**
 * An even loopback port whose odd neighbour is free too, for an ffmpeg RTP input (RTP on the even
 * port, RTCP on the next). The sockets are closed again before ffmpeg binds them: a port taken in
 * between makes ffmpeg fail to bind, and that run fails and is retried like any other.
 * Throws IngestError('spawn_failed') after 40 unlucky attempts.
 */
export async function freeLoopbackPortPair(): Promise<number> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const rtp = await bindLoopback();
    const port = rtp.address().port;
    if (port % 2 !== 0 || port >= 65535) {
      rtp.close();
      continue;
    }
    const rtcp = await bindLoopback(port + 1).catch(() => undefined);
    rtp.close();
    if (!rtcp) continue;
    rtcp.close();
    return port;
  }
  throw new IngestError('spawn_failed', 'no free loopback UDP port pair for the transcoder input');
}
