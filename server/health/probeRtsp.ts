import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { HealthStatus } from '../catalog/CameraRecord.ts';

export interface ProbeResult {
  status: HealthStatus;
  /** Free of credentials. */
  message: string;
}

interface RtspResponse {
  status: number;
  headers: Map<string, string>;
}

/**
 * Asks a camera for its stream description (RTSP DESCRIBE) without pulling any video: reachable
 * (200), unauthorized (401 with the stored credentials, Basic or Digest), or unreachable (no
 * answer, refused, timed out, or any other status).
 */
export async function probeRtsp(url: string, credentials: { username?: string; password?: string }, timeoutMs: number): Promise<ProbeResult> {
  const target = new URL(url);
  target.username = '';
  target.password = '';
  const requestUrl = target.toString();
  const secure = target.protocol === 'rtsps:';
  const port = Number(target.port) || (secure ? 322 : 554);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  let socket: net.Socket | undefined;
  const deadline = setTimeout(() => socket?.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    socket = await connect(host, port, secure);
    const reader = new ResponseReader(socket);
    const describe = (cseq: number, authorization?: string) =>
      `DESCRIBE ${requestUrl} RTSP/1.0\r\nCSeq: ${cseq}\r\nAccept: application/sdp\r\nUser-Agent: C5Live-prober\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}\r\n`;
    socket.write(describe(1));
    let response = await reader.next();
    if (response.status === 401 && credentials.username) {
      const challenge = response.headers.get('www-authenticate') ?? '';
      socket.write(describe(2, authorize(challenge, credentials.username, credentials.password ?? '', requestUrl)));
      response = await reader.next();
    }
    if (response.status === 200) return { status: 'reachable', message: 'answered DESCRIBE' };
    if (response.status === 401 || response.status === 403) return { status: 'unauthorized', message: `refused the credentials (${response.status})` };
    return { status: 'unreachable', message: `answered ${response.status}` };
  } catch (error) {
    return { status: 'unreachable', message: (error as Error).message.replace(/\/\/[^@/\s]*@/g, '//***@') };
  } finally {
    clearTimeout(deadline);
    socket?.destroy();
  }
}

function connect(host: string, port: number, secure: boolean): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false }, () => resolve(socket))
      : net.connect({ host, port }, () => resolve(socket));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('connection closed')));
  });
}

function authorize(challenge: string, username: string, password: string, uri: string): string {
  if (/^basic/i.test(challenge) || !/^digest/i.test(challenge)) {
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  const field = (name: string) => new RegExp(`${name}="?([^",]*)"?`, 'i').exec(challenge)?.[1];
  const realm = field('realm') ?? '';
  const nonce = field('nonce') ?? '';
  const qop = field('qop');
  const md5 = (text: string) => createHash('md5').update(text).digest('hex');
  const ha1 = md5(`${username}:${realm}:${password}`);
  const ha2 = md5(`DESCRIBE:${uri}`);
  if (qop && /auth/.test(qop)) {
    const cnonce = randomBytes(8).toString('hex');
    const nc = '00000001';
    const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
    return `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
  }
  return `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${md5(`${ha1}:${nonce}:${ha2}`)}"`;
}

/** Reads RTSP responses (status line and headers; a body is skipped by Content-Length). */
class ResponseReader {
  #buffer = Buffer.alloc(0);
  #waiting: { resolve: (r: RtspResponse) => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;

  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      if (this.#buffer.length > 64 * 1024) socket.destroy(new Error('oversized RTSP answer'));
      this.#deliver();
    });
    const fail = (error: Error) => {
      this.#failure ??= error;
      this.#waiting?.reject(this.#failure);
      this.#waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  next(): Promise<RtspResponse> {
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#deliver();
      if (this.#waiting && this.#failure) reject(this.#failure);
    });
  }

  #deliver(): void {
    if (!this.#waiting) return;
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const [statusLine = '', ...lines] = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = Number(headers.get('content-length') ?? 0);
    if (this.#buffer.length < end + 4 + length) return;
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    const match = /^RTSP\/1\.\d (\d{3})/.exec(statusLine);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (!match) waiting.reject(new Error('not an RTSP answer'));
    else waiting.resolve({ status: Number(match[1]), headers });
  }
}
