import { createCipheriv, createDecipheriv, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/**
 * A test alarm panel speaking SIA DC-09 (issue 23) to a receiver over TCP or UDP, clear or
 * AES-encrypted, the way field panels do: it numbers its events 0001..9999, waits for the
 * receiver's answer, retransmits the same frame when none comes (new random padding for encrypted
 * frames), adopts the receiver's clock from a NAK and resends with a corrected timestamp.
 *
 * DELIBERATELY INDEPENDENT of the server's codec (server/alarms/dc09/*): this file has its own
 * encoder and answer decoder, written from the protocol description, so a test that puts this
 * panel in front of the receiver cross-checks two implementations instead of one code path
 * agreeing with itself. Do not import the server's codec here, and do not make the server import
 * this. Its pure helpers are checked against vectors computed with Python and OpenSSL
 * (test/unit/dc09-panel.test.ts).
 *
 * Frame: LF CRC(4 hex) LLLL(4 hex) "TOKEN" SEQ(4 dec) [R rcvr] L lpref #acct [ data ] [ext...] [_ts] CR
 * with CRC-16/ARC and the length both taken over the span from the token's opening quote to the
 * end of the message (CR excluded).
 */

export type Dc09Token = 'ADM-CID' | 'SIA-DCS' | 'NULL';
export type Dc09AnswerKind = 'ACK' | 'NAK' | 'DUH';

export interface Dc09PanelOptions {
  host: string;
  port: number;
  transport: 'tcp' | 'udp';
  /** 3-16 hex digits. */
  account: string;
  /** AES key as 32, 48 or 64 hex digits: the panel encrypts when given. */
  keyHex?: string;
  /** Receiver number, 1-6 hex digits (an R prefix is accepted and dropped); omitted when absent. */
  receiver?: string;
  /** Account prefix, 1-6 hex digits (an L prefix is accepted and dropped); default '0'. */
  linePrefix?: string;
  /** The panel clock's offset from the machine's clock, to simulate a wrong clock. Default 0. */
  clockOffsetMs?: number;
  /** How long to wait for an answer before retransmitting. Default 2000 ms. */
  ackTimeoutMs?: number;
  /** Retransmissions after the first transmission when no answer comes. Default 3. */
  retries?: number;
  /** Timestamps on clear frames (always on encrypted ones, where they are mandatory). Default true. */
  timestamps?: boolean;
}

export interface Dc09Event {
  token: Dc09Token;
  /** The event without the account: '1130 01 015' (ADM-CID), 'Nri1/PA501' (SIA-DCS); none for NULL. */
  data?: string;
  /** Extended data blocks, with or without their brackets: 'X123E45', '[Vhttp://cam]'. */
  extended?: string[];
}

export interface Dc09SendOptions {
  /** Send under this sequence number instead of the next one (the counter does not move). */
  sequence?: number;
  /** Spoil every transmission of this frame (the receiver must stay silent, the panel retries). */
  corrupt?: 'crc' | 'length';
  /** After a NAK, resend once with the timestamp corrected from the NAK's clock. Default true. */
  resendAfterNak?: boolean;
}

/** An answer from the receiver as the panel decoded it. */
export interface Dc09PanelAnswer {
  raw: string;
  /** CRC and length right, well-formed, and (when encrypted) decrypted. */
  valid: boolean;
  /** Why it is not valid. */
  problem?: string;
  kind?: Dc09AnswerKind | 'RSP';
  encrypted: boolean;
  sequence?: number;
  receiver?: string;
  linePrefix?: string;
  account?: string;
  /** The receiver's clock carried by the answer (NAK, decrypted *ACK), if any. */
  timestamp?: Date;
  /** Decrypted text of an encrypted answer. */
  plaintext?: string;
}

export interface Dc09SendResult {
  answer: Dc09AnswerKind | 'none';
  /** Frames transmitted for this event (first + retransmissions + the resend after a NAK). */
  attempts: number;
  /** From the transmission that was answered to its answer; when none, the whole time spent. */
  rttMs: number;
  /** From the first transmission to the end. */
  elapsedMs: number;
  /** Every answer received while this event was being sent, valid or not, as received. */
  raw: string[];
  /** The same answers, decoded. */
  answers: Dc09PanelAnswer[];
  sequence: number;
  /** Every frame transmitted, in order. */
  frames: string[];
  /** The timestamp of the final answer when it carried one (decrypted *ACK, NAK). */
  ackTimestamp?: Date;
  /** Transport errors met (connection refused, reset...). */
  errors: string[];
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** CRC-16/ARC (reflected polynomial 0xA001, initial value 0) over the bytes of an ASCII string. */
export function panelCrc16(text: string | Buffer): number {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

const hex4 = (value: number): string => value.toString(16).toUpperCase().padStart(4, '0');
const two = (value: number): string => String(value).padStart(2, '0');

/** `_HH:MM:SS,MM-DD-YYYY` in UTC. */
export function panelTimestamp(date: Date): string {
  return `_${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())},${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}-${date.getUTCFullYear()}`;
}

/** Parses `HH:MM:SS,MM-DD-YYYY` (no underscore) as UTC; undefined when malformed or impossible. */
export function panelParseTimestamp(text: string): Date | undefined {
  const match = /^(\d{2}):(\d{2}):(\d{2}),(\d{2})-(\d{2})-(\d{4})$/.exec(text);
  if (!match) return undefined;
  const [hh, mi, ss, mm, dd, yyyy] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(yyyy, mm - 1, dd, hh, mi, ss));
  if (date.getUTCMonth() !== mm - 1 || date.getUTCDate() !== dd || hh > 23 || mi > 59 || ss > 59) return undefined;
  return date;
}

function aesAlgorithm(key: Buffer): string {
  if (key.length === 16) return 'aes-128-cbc';
  if (key.length === 24) return 'aes-192-cbc';
  if (key.length === 32) return 'aes-256-cbc';
  throw new Error(`DC-09 key must be 128, 192 or 256 bits, got ${key.length * 8}`);
}

function parseKey(keyHex: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$/.test(keyHex)) throw new Error('DC-09 key must be 32, 48 or 64 hex digits');
  return Buffer.from(keyHex, 'hex');
}

const ZERO_IV = Buffer.alloc(16);

/** AES-CBC, zero IV, no padding added (the text must already be a multiple of 16 bytes). */
export function panelEncrypt(keyHex: string, plaintext: string): string {
  const key = parseKey(keyHex);
  const input = Buffer.from(plaintext, 'latin1');
  if (input.length % 16 !== 0) throw new Error(`plaintext length ${input.length} is not a multiple of 16`);
  const cipher = createCipheriv(aesAlgorithm(key), key, ZERO_IV).setAutoPadding(false);
  return Buffer.concat([cipher.update(input), cipher.final()]).toString('hex').toUpperCase();
}

export function panelDecrypt(keyHex: string, cipherHex: string): string {
  const key = parseKey(keyHex);
  if (!/^(?:[0-9A-Fa-f]{32})+$/.test(cipherHex)) throw new Error('ciphertext is not whole 16-byte blocks of hex');
  const decipher = createDecipheriv(aesAlgorithm(key), key, ZERO_IV).setAutoPadding(false);
  return Buffer.concat([decipher.update(Buffer.from(cipherHex, 'hex')), decipher.final()]).toString('latin1');
}

/** Printable ASCII except the characters that delimit the data block: `[`, `]`, `|`. */
const PADDING_ALPHABET = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))
  .filter((c) => c !== '[' && c !== ']' && c !== '|')
  .join('');

/** Random padding chars for `length`: 1 to 16 of them, making `length + padding` a multiple of 16. */
export function panelPadding(length: number): string {
  const count = 16 - (length % 16);
  let padding = '';
  for (let i = 0; i < count; i++) padding += PADDING_ALPHABET[randomInt(PADDING_ALPHABET.length)];
  return padding;
}

export interface PanelFrameInput {
  token: Dc09Token;
  /** 1..9999 */
  sequence: number;
  account: string;
  receiver?: string;
  linePrefix?: string;
  data?: string;
  extended?: string[];
  /** Appended as `_HH:MM:SS,MM-DD-YYYY` (UTC); required with a key; omitted when absent on clear frames. */
  timestamp?: Date;
  keyHex?: string;
  /** Fixed padding for encrypted frames (tests); random otherwise. Must make the plaintext a multiple of 16. */
  padding?: string;
  corrupt?: 'crc' | 'length';
}

function hexField(value: string | undefined, letter: 'R' | 'L', fallback: string | undefined): string | undefined {
  const raw = value ?? fallback;
  if (raw === undefined) return undefined;
  const digits = raw.toUpperCase().startsWith(letter) ? raw.slice(1) : raw;
  if (!/^[0-9A-Fa-f]{1,6}$/.test(digits)) throw new Error(`${letter} field must be 1-6 hex digits, got '${raw}'`);
  return digits.toUpperCase();
}

/** Builds one DC-09 frame, LF to CR included. */
export function panelFrame(input: PanelFrameInput): string {
  if (!Number.isInteger(input.sequence) || input.sequence < 0 || input.sequence > 9999) throw new Error(`sequence ${input.sequence} out of 0..9999`);
  if (!/^[0-9A-Fa-f]{3,16}$/.test(input.account)) throw new Error(`account must be 3-16 hex digits, got '${input.account}'`);
  const account = input.account.toUpperCase();
  const receiver = hexField(input.receiver, 'R', undefined);
  const linePrefix = hexField(input.linePrefix, 'L', '0');
  if (input.token === 'NULL' && input.data) throw new Error('a NULL frame carries no data');
  if (input.token !== 'NULL' && !input.data) throw new Error(`a ${input.token} frame needs data`);

  const content = input.token === 'NULL' ? '' : `#${account}|${input.data}`;
  const extended = (input.extended ?? []).map((block) => (block.startsWith('[') ? block : `[${block}]`)).join('');
  const timestamp = input.timestamp ? panelTimestamp(input.timestamp) : '';
  const encrypted = input.keyHex !== undefined;
  if (encrypted && !input.timestamp) throw new Error('an encrypted frame needs a timestamp');

  let header = `"${encrypted ? '*' : ''}${input.token}"${String(input.sequence).padStart(4, '0')}`;
  if (receiver !== undefined) header += `R${receiver}`;
  header += `L${linePrefix}#${account}[`;

  let body: string;
  if (encrypted) {
    const tail = `|${content}]${extended}${timestamp}`;
    const padding = input.padding ?? panelPadding(Buffer.byteLength(tail, 'latin1'));
    if (/[[\]|]/.test(padding)) throw new Error('padding must not contain [ ] |');
    const plaintext = padding + tail;
    if (plaintext.length % 16 !== 0) throw new Error(`padding of ${padding.length} leaves ${plaintext.length} chars, not a multiple of 16`);
    body = header + panelEncrypt(input.keyHex as string, plaintext);
  } else {
    body = `${header}${content}]${extended}${timestamp}`;
  }

  let crc = panelCrc16(body);
  let length = Buffer.byteLength(body, 'latin1');
  if (input.corrupt === 'crc') crc ^= 0x0101;
  if (input.corrupt === 'length') length += 1;
  return `\n${hex4(crc)}${hex4(length)}${body}\r`;
}

/**
 * Decodes one answer from a receiver, `[LF] CRC LLLL "ACK"|"NAK"|"DUH" ... [CR]`: checks its CRC and
 * length, and decrypts an encrypted answer with the key. Never throws: problems land in `problem`.
 */
export function panelDecodeAnswer(raw: string, keyHex?: string): Dc09PanelAnswer {
  const answer: Dc09PanelAnswer = { raw, valid: false, encrypted: false };
  let text = raw;
  if (text.startsWith('\n')) text = text.slice(1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  else return { ...answer, problem: 'no CR at the end' };
  const head = /^([0-9A-F]{4})([0-9A-F]{4})(".*)$/s.exec(text);
  if (!head) return { ...answer, problem: 'no CRC/length header' };
  const [, crcHex, lengthHex, body] = head as unknown as [string, string, string, string];
  if (parseInt(lengthHex, 16) !== Buffer.byteLength(body, 'latin1')) return { ...answer, problem: `length ${lengthHex} but ${hex4(body.length)} chars` };
  if (parseInt(crcHex, 16) !== panelCrc16(body)) return { ...answer, problem: `CRC ${crcHex} but computed ${hex4(panelCrc16(body))}` };

  const match = /^"(\*?)(ACK|NAK|DUH|RSP)"(\d{4})(R[0-9A-Fa-f]{1,6})?(L[0-9A-Fa-f]{1,6})?(?:#([0-9A-Fa-f]{3,16}))?[^[]*\[(.*)$/s.exec(body);
  if (!match) return { ...answer, problem: 'not an ACK/NAK/DUH/RSP answer' };
  const [, star, kind, seq, receiver, linePrefix, account, rest] = match as unknown as [string, string, Dc09AnswerKind | 'RSP', string, string | undefined, string | undefined, string | undefined, string];
  answer.kind = kind;
  answer.encrypted = star === '*';
  answer.sequence = Number(seq);
  if (receiver) answer.receiver = receiver.slice(1).toUpperCase();
  if (linePrefix) answer.linePrefix = linePrefix.slice(1).toUpperCase();
  if (account) answer.account = account.toUpperCase();

  let tail: string; // from the data block's closing bracket on: `]` [ext...] [_ts]
  if (answer.encrypted) {
    if (!keyHex) return { ...answer, problem: 'encrypted answer and no key' };
    const cipherHex = rest.endsWith(']') ? rest.slice(0, -1) : rest;
    let plaintext: string;
    try {
      plaintext = panelDecrypt(keyHex, cipherHex);
    } catch (error) {
      return { ...answer, problem: `cannot decrypt: ${(error as Error).message}` };
    }
    answer.plaintext = plaintext;
    if (!/^[\x20-\x7e]*$/.test(plaintext)) return { ...answer, problem: 'decrypted answer is not printable (wrong key?)' };
    const close = plaintext.lastIndexOf(']', plaintext.includes('_') ? plaintext.lastIndexOf('_') : plaintext.length);
    if (close < 0) return { ...answer, problem: 'decrypted answer has no ]' };
    tail = plaintext.slice(close);
  } else {
    const close = rest.indexOf(']');
    if (close < 0) return { ...answer, problem: 'data block not closed' };
    tail = rest.slice(close);
  }
  const stamp = /_([^_\]]*)$/.exec(tail);
  if (stamp) {
    const date = panelParseTimestamp(stamp[1] as string);
    if (!date) return { ...answer, problem: `malformed timestamp '${stamp[1]}'` };
    answer.timestamp = date;
  }
  if (answer.encrypted && !answer.timestamp) return { ...answer, problem: 'encrypted answer without timestamp' };
  return { ...answer, valid: true };
}

// ---------------------------------------------------------------------------------------------
// The panel

type Waiter = (answer: Dc09PanelAnswer | undefined) => void;

export class Dc09Panel {
  private readonly options: Required<Omit<Dc09PanelOptions, 'keyHex' | 'receiver'>> & Pick<Dc09PanelOptions, 'keyHex' | 'receiver'>;
  private sequenceCounter = 0;
  private offsetMs: number;
  private tcp: net.Socket | undefined;
  private tcpConnecting: Promise<net.Socket> | undefined;
  private tcpBuffer = '';
  private udp: dgram.Socket | undefined;
  private queue: string[] = [];
  private waiter: ((raw: string) => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Every answer received since creation, as received (including those seen during raw()). */
  readonly received: string[] = [];
  /** How many TCP connections were opened (reconnections show here). */
  connections = 0;

  constructor(options: Dc09PanelOptions) {
    if (options.keyHex !== undefined) parseKey(options.keyHex);
    if (!/^[0-9A-Fa-f]{3,16}$/.test(options.account)) throw new Error(`account must be 3-16 hex digits, got '${options.account}'`);
    this.options = {
      linePrefix: '0',
      clockOffsetMs: 0,
      ackTimeoutMs: 2000,
      retries: 3,
      timestamps: true,
      ...options,
    };
    this.offsetMs = this.options.clockOffsetMs;
  }

  /** The panel clock's current offset from this machine's clock (changes when a NAK corrects it). */
  get clockOffsetMs(): number {
    return this.offsetMs;
  }

  set clockOffsetMs(value: number) {
    this.offsetMs = value;
  }

  /** The panel's clock. */
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** The sequence number the next new event will use. */
  get nextSequence(): number {
    return (this.sequenceCounter % 9999) + 1;
  }

  private takeSequence(): number {
    this.sequenceCounter = (this.sequenceCounter % 9999) + 1;
    return this.sequenceCounter;
  }

  /**
   * Builds the frame this panel would send (its account, key, prefixes and clock), taking the next
   * sequence number unless one is given. For trickle tests with raw().
   */
  buildFrame(event: Dc09Event, options: Pick<Dc09SendOptions, 'sequence' | 'corrupt'> & { padding?: string } = {}): { text: string; sequence: number } {
    const sequence = options.sequence ?? this.takeSequence();
    return { text: this.frameFor(event, sequence, options.corrupt, options.padding), sequence };
  }

  private frameFor(event: Dc09Event, sequence: number, corrupt?: 'crc' | 'length', padding?: string, stamp: Date = this.now()): string {
    const encrypted = this.options.keyHex !== undefined;
    return panelFrame({
      token: event.token,
      sequence,
      account: this.options.account,
      receiver: this.options.receiver,
      linePrefix: this.options.linePrefix,
      data: event.data,
      extended: event.extended,
      timestamp: encrypted || this.options.timestamps ? stamp : undefined,
      keyHex: this.options.keyHex,
      padding,
      corrupt,
    });
  }

  /** Sends one event and waits for its outcome; calls are serialized like a panel's event queue. */
  send(event: Dc09Event, options: Dc09SendOptions = {}): Promise<Dc09SendResult> {
    const run = this.chain.then(() => this.sendNow(event, options));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async sendNow(event: Dc09Event, options: Dc09SendOptions): Promise<Dc09SendResult> {
    if (this.closed) throw new Error('panel closed');
    const sequence = options.sequence ?? this.takeSequence();
    const result: Dc09SendResult = { answer: 'none', attempts: 0, rttMs: 0, elapsedMs: 0, raw: [], answers: [], sequence, frames: [], errors: [] };
    this.queue = []; // answers left over from earlier events are not answers to this one
    const started = performance.now();
    let nakResendLeft = options.resendAfterNak ?? true;

    // Transmit, wait; on silence retransmit the same frame (same sequence, content and timestamp;
    // encrypted frames are re-encrypted with new padding). After a NAK: a new timestamp from the
    // corrected clock, and a fresh retransmission budget for that frame.
    let budget = this.options.retries + 1;
    let stamp = this.now();
    while (budget > 0) {
      budget--;
      const frame = this.frameFor(event, sequence, options.corrupt, undefined, stamp);
      result.frames.push(frame);
      result.attempts++;
      const sentAt = performance.now();
      try {
        await this.transmit(frame);
      } catch (error) {
        result.errors.push((error as Error).message);
        await delay(Math.min(this.options.ackTimeoutMs, 200));
        continue;
      }
      const answer = await this.awaitAnswer(sequence, sentAt + this.options.ackTimeoutMs, result);
      if (!answer) continue;
      result.rttMs = performance.now() - sentAt;
      result.answer = answer.kind as Dc09AnswerKind;
      result.ackTimestamp = answer.timestamp;
      if (answer.kind === 'NAK') {
        if (answer.timestamp) this.offsetMs = answer.timestamp.getTime() - Date.now();
        if (nakResendLeft) {
          nakResendLeft = false;
          stamp = this.now();
          budget = this.options.retries + 1; // the corrected frame gets its own retransmissions
          continue;
        }
      }
      break;
    }
    result.elapsedMs = performance.now() - started;
    if (result.answer === 'none') result.rttMs = result.elapsedMs;
    return result;
  }

  /** Waits for a valid answer to `sequence` (NAK: any sequence) until `deadline`; others are recorded and ignored. */
  private async awaitAnswer(sequence: number, deadline: number, result: Dc09SendResult): Promise<Dc09PanelAnswer | undefined> {
    for (;;) {
      const raw = await this.nextRaw(deadline - performance.now());
      if (raw === undefined) return undefined;
      const answer = panelDecodeAnswer(raw, this.options.keyHex);
      if (answer.valid) {
        if (answer.kind === 'RSP') {
          answer.valid = false;
          answer.problem = 'RSP not supported by the test panel';
        } else if (answer.kind !== 'NAK' && answer.sequence !== sequence) {
          answer.valid = false;
          answer.problem = `sequence ${answer.sequence} is not ${sequence}`;
        } else if (answer.kind === 'ACK' && this.options.keyHex !== undefined && !answer.encrypted) {
          answer.valid = false;
          answer.problem = 'clear ACK to an encrypted frame';
        } else if (answer.kind === 'ACK' && answer.account !== undefined && answer.account !== this.options.account.toUpperCase()) {
          answer.valid = false;
          answer.problem = `account ${answer.account} is not ${this.options.account.toUpperCase()}`;
        }
      }
      result.raw.push(raw);
      result.answers.push(answer);
      if (answer.valid) return answer;
    }
  }

  private nextRaw(timeoutMs: number): Promise<string | undefined> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (timeoutMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = (raw) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(raw);
      };
    });
  }

  private deliver(raw: string): void {
    this.received.push(raw);
    const waiter = this.waiter;
    if (waiter) waiter(raw);
    else this.queue.push(raw);
  }

  /** Sends arbitrary bytes on the panel's link (garbage, a frame in pieces...). */
  async raw(bytes: Buffer | string): Promise<void> {
    await this.transmit(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Collects the answers that arrive within `ms` (those already queued included). */
  async collectAnswers(ms: number): Promise<string[]> {
    const deadline = performance.now() + ms;
    const out: string[] = [];
    for (;;) {
      const raw = await this.nextRaw(deadline - performance.now());
      if (raw === undefined) return out;
      out.push(raw);
    }
  }

  private async transmit(frame: string | Buffer): Promise<void> {
    const bytes = typeof frame === 'string' ? Buffer.from(frame, 'latin1') : frame;
    if (this.options.transport === 'udp') {
      const socket = this.udpSocket();
      await new Promise<void>((resolve, reject) => socket.send(bytes, this.options.port, this.options.host, (error) => (error ? reject(error) : resolve())));
      return;
    }
    const socket = await this.tcpSocket();
    await new Promise<void>((resolve, reject) => socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  private udpSocket(): dgram.Socket {
    if (this.udp) return this.udp;
    const socket = dgram.createSocket(net.isIPv6(this.options.host) ? 'udp6' : 'udp4');
    socket.on('message', (message) => this.deliver(message.toString('latin1')));
    socket.on('error', () => undefined); // ICMP unreachable and the like: the panel just gets no answer
    this.udp = socket;
    return socket;
  }

  private tcpSocket(): Promise<net.Socket> {
    if (this.tcp && !this.tcp.destroyed && this.tcp.writable) return Promise.resolve(this.tcp);
    if (this.tcpConnecting) return this.tcpConnecting;
    this.tcpConnecting = new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: this.options.host, port: this.options.port });
      socket.setNoDelay(true);
      socket.once('connect', () => {
        this.connections++;
        this.tcp = socket;
        this.tcpBuffer = '';
        this.tcpConnecting = undefined;
        resolve(socket);
      });
      socket.on('error', (error) => {
        if (this.tcpConnecting && this.tcp !== socket) {
          this.tcpConnecting = undefined;
          reject(error);
        }
      });
      socket.on('data', (chunk) => this.onTcpData(chunk));
      socket.on('close', () => {
        if (this.tcp === socket) this.tcp = undefined;
      });
    });
    return this.tcpConnecting;
  }

  /** Answers over TCP are cut at each CR (a frame starts at its LF; bytes before an LF are kept with it). */
  private onTcpData(chunk: Buffer): void {
    this.tcpBuffer += chunk.toString('latin1');
    let end: number;
    while ((end = this.tcpBuffer.indexOf('\r')) >= 0) {
      const piece = this.tcpBuffer.slice(0, end + 1);
      this.tcpBuffer = this.tcpBuffer.slice(end + 1);
      const start = piece.lastIndexOf('\n');
      this.deliver(start > 0 ? piece.slice(start) : piece);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    const tcp = this.tcp;
    this.tcp = undefined;
    if (tcp && !tcp.destroyed) await new Promise<void>((resolve) => tcp.end(() => resolve())).then(() => tcp.destroy());
    const udp = this.udp;
    this.udp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
