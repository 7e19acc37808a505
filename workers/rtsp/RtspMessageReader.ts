import { RtspError } from './RtspError.ts';

/** An RTSP message header block as received: names as written, every value kept (RFC 2326 §4.2). */
export class RtspHeaders {
  constructor(readonly entries: ReadonlyArray<readonly [string, string]>) {}

  /** The first value of a header (names are case-insensitive), or undefined. */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.entries.find(([key]) => key.toLowerCase() === lower)?.[1];
  }

  /** Every value of a header, in the order received (e.g. several WWW-Authenticate). */
  all(name: string): string[] {
    const lower = name.toLowerCase();
    return this.entries.filter(([key]) => key.toLowerCase() === lower).map(([, value]) => value);
  }
}

export interface RtspResponse {
  status: number;
  reason: string;
  headers: RtspHeaders;
  /** The body (an SDP for DESCRIBE), empty when there is none. */
  body: Buffer;
}

/** A request the camera sends us on the same connection (some send OPTIONS or GET_PARAMETER as their own keepalive). */
export interface RtspServerRequest {
  method: string;
  uri: string;
  headers: RtspHeaders;
  body: Buffer;
}

export interface RtspMessageHandlers {
  response(response: RtspResponse): void;
  request(request: RtspServerRequest): void;
  /**
   * An interleaved binary frame (RFC 2326 §10.12): channel and payload. The payload is a view of the
   * received bytes, valid during the call only: copy it to keep it.
   */
  frame(channel: number, payload: Buffer): void;
}

/** Limits on what a camera may send before it is cut off (bytes). */
export const RTSP_LIMITS = {
  /** Start line and headers of one message. */
  headerBytes: 16 * 1024,
  /** Body of one message (an SDP is a few hundred bytes; 64 KiB is generous). */
  bodyBytes: 64 * 1024,
  /** Header lines of one message. */
  headerLines: 128,
} as const;

const DOLLAR = 0x24;
const RESPONSE_LINE = /^RTSP\/1\.\d (\d{3})(?: (.*))?$/;
const REQUEST_LINE = /^([A-Z_]{3,20}) (\S+) RTSP\/1\.\d$/;

/**
 * Splits the byte stream of an RTSP connection into responses, camera requests and interleaved
 * frames. Memory is bounded: a message larger than RTSP_LIMITS, a start line that is neither a
 * response nor a request, or a malformed header throws an RtspError `protocol_error`, after which
 * the connection must be dropped (the stream cannot be resynchronised safely).
 */
export class RtspMessageReader {
  /** Bytes of an incomplete message, in a buffer that grows by doubling (amortised O(1) per byte). */
  #buffer: Buffer = Buffer.alloc(0);
  #length = 0;
  /** How far the header-end search of the pending message already looked (from its start). */
  #scanned = 0;
  /** The pending message's parsed head, when only its body is missing. */
  #head: { startLine: string; headers: RtspHeaders; bodyStart: number; bodyLength: number } | undefined;
  #failed: RtspError | undefined;

  constructor(private readonly handlers: RtspMessageHandlers) {}

  /** Bytes held while waiting for the rest of a message (bounded by the limits above plus one frame). */
  get buffered(): number {
    return this.#length;
  }

  /**
   * Feeds received bytes; calls the handlers for every complete message. Throws on malformed input.
   * Work is linear in the bytes received, however a camera splits them (one byte per segment too).
   */
  push(chunk: Buffer): void {
    if (this.#failed) throw this.#failed;
    let data: Buffer;
    if (this.#length === 0) data = chunk;
    else {
      this.#append(chunk);
      data = this.#buffer.subarray(0, this.#length);
    }
    try {
      let offset = 0;
      while (offset < data.length) {
        const used = this.#parseOne(data, offset);
        if (used === 0) break;
        offset += used;
        this.#scanned = 0;
        this.#head = undefined;
      }
      const rest = data.length - offset;
      if (rest === 0) this.#length = 0;
      else if (data === chunk) {
        // Keep a copy of a partial message so the caller's chunk buffer is not pinned.
        this.#length = 0;
        this.#append(chunk.subarray(offset));
      } else if (offset > 0) {
        this.#buffer.copy(this.#buffer, 0, offset, this.#length);
        this.#length = rest;
      }
    } catch (error) {
      this.#length = 0;
      this.#buffer = Buffer.alloc(0);
      this.#head = undefined;
      this.#failed = error instanceof RtspError ? error : new RtspError('protocol_error', (error as Error).message);
      throw this.#failed;
    }
  }

  #append(bytes: Buffer): void {
    if (this.#length + bytes.length > this.#buffer.length) {
      const grown = Buffer.alloc(Math.max(this.#buffer.length * 2, this.#length + bytes.length, 4096));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    bytes.copy(this.#buffer, this.#length);
    this.#length += bytes.length;
  }

  /** Parses one message at `offset`; returns the bytes it used, 0 if it is not complete yet. */
  #parseOne(data: Buffer, offset: number): number {
    if (data[offset] === DOLLAR) {
      if (data.length - offset < 4) return 0;
      const channel = data[offset + 1]!;
      const length = data.readUInt16BE(offset + 2);
      if (data.length - offset < 4 + length) return 0;
      this.handlers.frame(channel, data.subarray(offset + 4, offset + 4 + length));
      return 4 + length;
    }
    // Some cameras send CRLF between messages: skip blank lines.
    if (data[offset] === 0x0d || data[offset] === 0x0a) return 1;
    // Only the pending message (at offset 0 of the held bytes) can have a cached head.
    let head = offset === 0 ? this.#head : undefined;
    if (!head) {
      const limit = Math.min(data.length, offset + RTSP_LIMITS.headerBytes + 4);
      const end = findHeaderEnd(data, offset + Math.max(0, this.#scanned - 3), limit);
      if (end === undefined) {
        this.#checkStart(data, offset);
        if (data.length - offset > RTSP_LIMITS.headerBytes + 4) {
          throw new RtspError('protocol_error', `an RTSP header block over ${RTSP_LIMITS.headerBytes} bytes`);
        }
        this.#scanned = limit - offset;
        return 0;
      }
      if (end.index - offset > RTSP_LIMITS.headerBytes) throw new RtspError('protocol_error', `an RTSP header block over ${RTSP_LIMITS.headerBytes} bytes`);
      const lines = data.subarray(offset, end.index).toString('latin1').split('\n').map((line) => line.replace(/\r$/, ''));
      const startLine = lines.shift() ?? '';
      if (lines.length > RTSP_LIMITS.headerLines) throw new RtspError('protocol_error', `more than ${RTSP_LIMITS.headerLines} header lines`);
      const headers = new RtspHeaders(parseHeaderLines(lines));
      const lengthValue = headers.get('content-length');
      let bodyLength = 0;
      if (lengthValue !== undefined) {
        if (!/^\d{1,9}$/.test(lengthValue.trim())) throw new RtspError('protocol_error', 'a Content-Length that is not a number');
        bodyLength = Number(lengthValue.trim());
        if (bodyLength > RTSP_LIMITS.bodyBytes) throw new RtspError('protocol_error', `a body of ${bodyLength} bytes (over ${RTSP_LIMITS.bodyBytes})`);
      }
      head = { startLine, headers, bodyStart: end.index + end.length - offset, bodyLength };
    }
    const bodyStart = offset + head.bodyStart;
    if (data.length < bodyStart + head.bodyLength) {
      this.#head = head;
      return 0;
    }
    const body = Buffer.from(data.subarray(bodyStart, bodyStart + head.bodyLength));
    const response = RESPONSE_LINE.exec(head.startLine);
    if (response) {
      this.handlers.response({ status: Number(response[1]), reason: (response[2] ?? '').slice(0, 200), headers: head.headers, body });
    } else {
      const request = REQUEST_LINE.exec(head.startLine);
      if (!request) throw new RtspError('protocol_error', `not an RTSP message: ${printable(head.startLine)}`);
      this.handlers.request({ method: request[1]!, uri: request[2]!, headers: head.headers, body });
    }
    return bodyStart + head.bodyLength - offset;
  }

  /** Fails early on bytes that cannot begin an RTSP message, rather than buffering up to the limit. */
  #checkStart(data: Buffer, offset: number): void {
    const head = data.subarray(offset, Math.min(data.length, offset + 5)).toString('latin1');
    const couldBeResponse = 'RTSP/'.startsWith(head) || head.startsWith('RTSP/');
    const couldBeRequest = /^[A-Z_]*$/.test(head);
    if (!couldBeResponse && !couldBeRequest) throw new RtspError('protocol_error', `not an RTSP message: ${printable(head)}`);
  }
}

function findHeaderEnd(data: Buffer, from: number, to: number): { index: number; length: number } | undefined {
  for (let i = from; i < to; i++) {
    if (data[i] !== 0x0a) continue;
    if (data[i + 1] === 0x0a && i + 1 < to) return { index: i, length: 2 };
    if (data[i + 1] === 0x0d && data[i + 2] === 0x0a && i + 2 < to) return { index: i, length: 3 };
  }
  return undefined;
}

function parseHeaderLines(lines: string[]): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  for (const line of lines) {
    if (line === '') continue;
    // Obsolete line folding (RFC 2616 §2.2, which RFC 2326 inherits): a continuation of the previous value.
    if ((line[0] === ' ' || line[0] === '\t') && headers.length > 0) {
      const last = headers[headers.length - 1]!;
      last[1] = `${last[1]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new RtspError('protocol_error', `a malformed header line: ${printable(line)}`);
    const name = line.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new RtspError('protocol_error', `a malformed header name: ${printable(name)}`);
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return headers;
}

/** A short, printable excerpt of camera bytes for an error message. */
export function printable(text: string): string {
  const clean = text.slice(0, 60).replace(/[^\x20-\x7e]/g, '.');
  return JSON.stringify(text.length > 60 ? `${clean}…` : clean);
}
