import net from 'node:net';

/** What a hostile camera sends in one fuzz case. */
export interface CameraScript {
  /** One answer per request, in order (`{cseq}` and `{len}` are filled in: the request's CSeq, the body's length). A request past the end gets the connection closed. */
  answers: Array<{ head: string; body: Buffer }>;
  /** Bytes sent right after the last answer (interleaved frames, noise). */
  after: Buffer[];
  /** Sizes the bytes are cut into on the wire (cycled): exercises every split point of the parser. */
  chunks: number[];
}

/**
 * A TCP server playing a camera that answers from a script: generated RTSP responses and
 * interleaved bytes, for fuzzing our RTSP client. One script at a time (one fuzz case).
 */
export class HostileCamera {
  #script: CameraScript = { answers: [], after: [], chunks: [] };
  readonly #sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {
    server.on('connection', (socket) => this.#serve(socket));
  }

  static async start(): Promise<HostileCamera> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new HostileCamera(server);
  }

  url(path = '/stream'): string {
    return `rtsp://127.0.0.1:${(this.server.address() as net.AddressInfo).port}${path}`;
  }

  /** The script for the next case; connections of the previous case are dropped. */
  load(script: CameraScript): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    this.#script = script;
  }

  #serve(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    const script = this.#script;
    let answered = 0;
    let pending = '';
    let chunkIndex = 0;
    const write = (bytes: Buffer) => {
      const sizes = script.chunks.length > 0 ? script.chunks : [bytes.length || 1];
      for (let offset = 0; offset < bytes.length; ) {
        const size = Math.max(1, sizes[chunkIndex++ % sizes.length]!);
        if (!socket.destroyed) socket.write(bytes.subarray(offset, offset + size));
        offset += size;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      // Requests from the client end with an empty line; interleaved RTCP from it ('$') is skipped.
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const cseq = /^CSeq:\s*(\d+)/im.exec(request)?.[1] ?? '0';
        const answer = script.answers[answered++];
        if (!answer) {
          socket.end();
          return;
        }
        const head = answer.head.replaceAll('{cseq}', cseq).replaceAll('{len}', String(answer.body.length));
        write(Buffer.concat([Buffer.from(head, 'latin1'), answer.body]));
        if (answered === script.answers.length) for (const bytes of script.after) write(bytes);
      }
      if (pending.length > 64 * 1024) socket.destroy();
    });
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
