import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The SIA DC-09 frame codec (issue 23): reads and writes the frames an alarm panel (or its IP
 * communicator) sends to a receiving centre over TCP or UDP, and the receiver's answers (ACK, NAK,
 * DUH). Pure functions, no I/O: the receiver (Dc09Receiver.ts) splits the byte stream into frames
 * and decides what to answer; this module only knows the bytes.
 *
 * Source: SIA DC-09 (2013/2021), as described by public implementations — the standard itself is
 * sold by SIA and was not available. The rules below were checked against pysiaalarm
 * (eavanvalkenburg/pysiaalarm, a receiver) and dc09_spt (jvanovost/dc09_spt, a transmitter by van
 * Ovost); where they differ, the choice is documented where it is made.
 *
 * A frame, byte by byte (all ASCII):
 *
 *   LF  CRC  0LLL  "TOKEN"  SEQ  [Rrcvr]  [Lpref]  [#acct]  [data]  [ext]...  [_HH:MM:SS,MM-DD-YYYY]  CR
 *
 * - CRC: 4 hex digits, CRC-16/ARC ({@link crc16Arc}) of the body;
 * - 0LLL: 4 hex digits, the body's length in bytes (at most 0x0FFF, hence the leading '0');
 * - the body ("covered span") runs from the opening quote of the token to the byte before CR;
 * - "*TOKEN" (an asterisk inside the quotes) marks an encrypted frame: everything after the data
 *   block's '[' is then the upper-case hex of AES-CBC ciphertext (see {@link openPayload}).
 */

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/** The largest body a frame can declare: its length field is `0LLL`, 3 significant hex digits (bytes). */
export const MAX_BODY_LENGTH = 0x0fff;

/** The largest whole frame (LF + CRC + length + body + CR), in bytes; anything longer is refused unread. */
export const MAX_FRAME_BYTES = 1 + 4 + 4 + MAX_BODY_LENGTH + 1;

/** Tokens a panel sends: an event in Contact ID (SIA DC-05), an event in SIA format (SIA DC-03), a link test. */
export const EVENT_TOKENS = ['ADM-CID', 'SIA-DCS', 'NULL'] as const;

/**
 * Tokens a receiver answers with. RSP (2021, "response with data") is listed so that a frame
 * carrying it reads without an account, like the others; this codec never writes one.
 */
export const ANSWER_TOKENS = ['ACK', 'NAK', 'DUH', 'RSP'] as const;

/** AES block size, bytes: the encrypted text is a whole number of blocks. */
const AES_BLOCK = 16;

/** Characters that may never be padding: they delimit the data block (DC-09, per dc09_spt). */
const FORBIDDEN_PADDING = new Set(['[', ']', '|']);

/** Alphabet of the random padding written by {@link encodeFrame} (alphanumerics only, to be safe with any receiver). */
const PADDING_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const HEX = /^[0-9A-Fa-f]+$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * The body's header, up to and including the data block's '['. Groups: 1 '*', 2 token,
 * 3 sequence, 4 receiver, 5 line prefix, 6 account, 7 payload (from '[').
 */
const BODY = /^"(\*?)([A-Z0-9-]{1,16})"([0-9]{4})(?:R([0-9A-Fa-f]{1,6}))?(?:L([0-9A-Fa-f]{1,6}))?(?:#([0-9A-Fa-f]{3,16}))?(\[[\x20-\x7e]*)$/;

const TIMESTAMP = /^_([0-9]{2}):([0-9]{2}):([0-9]{2}),([0-9]{2})-([0-9]{2})-([0-9]{4})$/;

/** Length of `_HH:MM:SS,MM-DD-YYYY`, characters. */
const TIMESTAMP_LENGTH = 20;

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** What a frame says about itself before its data block. */
export interface Dc09Header {
  /** ADM-CID, SIA-DCS, NULL (link test) from panels; ACK, NAK, DUH (and RSP) from receivers; anything else reads, for a DUH. */
  token: string;
  /** True when the token was written `"*TOKEN"`: the payload is AES-CBC ciphertext in hex. */
  encrypted: boolean;
  /** Sequence number, 4 decimal digits `0000`-`9999`, kept as text (an ACK echoes it verbatim). */
  sequence: string;
  /** Receiver number, 1-6 hex digits without the `R`, as sent (case kept: the ACK echoes it); absent when the frame had no `R`. */
  receiver?: string;
  /**
   * Line prefix, 1-6 hex digits without the `L`, as sent. DC-09 requires it, but dc09_spt omits
   * it when no line is configured, so a frame without `L` reads as line prefix '0' (and is
   * answered with `L0`, the value pysiaalarm and most receivers use) instead of being refused.
   */
  linePrefix: string;
  /**
   * Account, 3-16 hex digits without the `#`, upper-cased. Required in ADM-CID, SIA-DCS and NULL
   * frames; '' in an answer that has none (a NAK is `"NAK"0000R0L0A0[]...`).
   */
  account: string;
}

/** A frame whose CRC and length were checked and whose header was read, its data block still closed. */
export interface Dc09Envelope extends Dc09Header {
  /** Everything from the data block's '[' (inclusive) to the end of the body (before CR). */
  payload: string;
  /** The CRC- and length-covered span: from the token's opening quote to the byte before CR. */
  body: string;
}

/** The opened data block. */
export interface Dc09Content {
  /** Inside the data block's brackets, e.g. `#1234|1130 01 015` (ADM-CID), `#1234|Nri1/PA501` (SIA-DCS), '' (NULL). */
  data: string;
  /** Inside each further `[...]` block, in order, e.g. `X-99.1332`, `Y19.4326` (DC-09 extended data). */
  extended: string[];
  /** The `_HH:MM:SS,MM-DD-YYYY` timestamp (UTC, whole seconds); mandatory in encrypted frames, optional in clear ones. */
  timestamp?: Date;
}

export type ReadEnvelopeResult =
  | { ok: true; envelope: Dc09Envelope }
  | { ok: false; error: 'crc' | 'length' | 'syntax'; message: string };

export type OpenPayloadResult =
  | { ok: true; content: Dc09Content }
  | { ok: false; error: 'decrypt' | 'syntax' | 'no_key'; message: string };

// ---------------------------------------------------------------------------------------------
// CRC
// ---------------------------------------------------------------------------------------------

/**
 * CRC-16/ARC (also "CRC-16", "CRC-IBM"): reflected polynomial 0xA001 (0x8005 unreflected),
 * initial value 0, no final XOR; check value 0xBB3D for ASCII "123456789". The CRC of DC-09
 * frames (SIA DC-09 (2013/2021), as described by public implementations: pysiaalarm and dc09_spt
 * compute it bit by bit with 0xA001). A string is taken as Latin-1 (one byte per character), which
 * for the ASCII of a frame is its bytes. Returns 0..0xFFFF.
 */
export function crc16Arc(data: Buffer | string): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function hex4(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, '0');
}

// ---------------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------------

/**
 * `_HH:MM:SS,MM-DD-YYYY` in UTC (the DC-09 timestamp, SIA DC-09 (2013/2021), as described by public
 * implementations; pysiaalarm and dc09_spt both write UTC with strftime `_%H:%M:%S,%m-%d-%Y`).
 * Milliseconds are dropped. Throws RangeError for an invalid date or a year outside 0000-9999.
 */
export function formatTimestamp(date: Date): string {
  const time = date.getTime();
  if (!Number.isFinite(time)) throw new RangeError('formatTimestamp: invalid date');
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`formatTimestamp: year ${year} outside 0000-9999`);
  const two = (n: number) => String(n).padStart(2, '0');
  return `_${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())},${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}-${String(year).padStart(4, '0')}`;
}

/**
 * Parses `_HH:MM:SS,MM-DD-YYYY` (UTC, see {@link formatTimestamp}); undefined unless it is exactly
 * that and names a real instant (no 24:00:00, no leap second, no 02-30).
 */
export function parseTimestamp(text: string): Date | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [hh, mi, ss, mo, dd, yyyy] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (hh > 23 || mi > 59 || ss > 59 || mo < 1 || mo > 12 || dd < 1) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(yyyy, mo - 1, dd); // setUTCFullYear: years 0-99 are not shifted to 19xx
  date.setUTCHours(hh, mi, ss, 0);
  if (date.getUTCDate() !== dd || date.getUTCMonth() !== mo - 1) return undefined; // 02-30 rolled over
  return date;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/**
 * Reads one whole frame, LF to CR inclusive (the receiver splits the stream; a frame without
 * both is refused), checking in this order:
 *
 * 1. size and framing (at most {@link MAX_FRAME_BYTES} bytes -> 'length'; LF first, CR last,
 *    4 + 4 hex digits -> 'syntax');
 * 2. the length field against the body's length in bytes -> 'length';
 * 3. the CRC ({@link crc16Arc}) of the body -> 'crc' (hex digits accepted in either case);
 * 4. the header: `"[*]TOKEN"SEQ[Rrcvr][Lpref][#acct][...` with printable ASCII only -> 'syntax';
 *    `#acct` is required except in answers (ACK, NAK, DUH, RSP); `L` may be absent (read as '0').
 *
 * The data block is not opened here (see {@link openPayload}). Never throws.
 * Source: SIA DC-09 (2013/2021), as described by public implementations.
 */
export function readEnvelope(frame: Buffer): ReadEnvelopeResult {
  try {
    return readEnvelopeUnsafe(frame);
  } catch (error) {
    return { ok: false, error: 'syntax', message: `unreadable frame: ${String(error)}` };
  }
}

function readEnvelopeUnsafe(frame: Buffer): ReadEnvelopeResult {
  if (!Buffer.isBuffer(frame)) return { ok: false, error: 'syntax', message: 'not a Buffer' };
  if (frame.length > MAX_FRAME_BYTES) {
    return { ok: false, error: 'length', message: `frame of ${frame.length} bytes exceeds ${MAX_FRAME_BYTES}` };
  }
  if (frame.length < 10) return { ok: false, error: 'syntax', message: `frame of ${frame.length} bytes is too short` };
  if (frame[0] !== 0x0a) return { ok: false, error: 'syntax', message: 'frame does not start with LF' };
  if (frame[frame.length - 1] !== 0x0d) return { ok: false, error: 'syntax', message: 'frame does not end with CR' };
  const crcText = frame.toString('latin1', 1, 5);
  const lengthText = frame.toString('latin1', 5, 9);
  if (!HEX.test(crcText)) return { ok: false, error: 'syntax', message: `CRC field ${JSON.stringify(crcText)} is not 4 hex digits` };
  if (!HEX.test(lengthText)) return { ok: false, error: 'syntax', message: `length field ${JSON.stringify(lengthText)} is not 4 hex digits` };
  const bodyBytes = frame.subarray(9, frame.length - 1);
  const declared = parseInt(lengthText, 16);
  if (declared !== bodyBytes.length) {
    return { ok: false, error: 'length', message: `length field says ${declared} bytes, body has ${bodyBytes.length}` };
  }
  const computed = crc16Arc(bodyBytes);
  if (computed !== parseInt(crcText, 16)) {
    return { ok: false, error: 'crc', message: `CRC field ${crcText.toUpperCase()}, computed ${hex4(computed)}` };
  }
  const body = bodyBytes.toString('latin1');
  if (!PRINTABLE.test(body)) return { ok: false, error: 'syntax', message: 'body holds bytes outside printable ASCII' };
  const m = BODY.exec(body);
  if (!m) return { ok: false, error: 'syntax', message: 'body is not "TOKEN"SEQ[Rrcvr][Lpref]#acct[...' };
  const [, star, token, sequence, receiver, linePrefix, account, payload] = m as unknown as [string, string, string, string, string | undefined, string | undefined, string | undefined, string];
  const isAnswer = (ANSWER_TOKENS as readonly string[]).includes(token);
  if (account === undefined && !isAnswer) return { ok: false, error: 'syntax', message: `${token} frame without #account` };
  const envelope: Dc09Envelope = {
    token,
    encrypted: star === '*',
    sequence,
    linePrefix: linePrefix ?? '0',
    account: (account ?? '').toUpperCase(),
    payload,
    body,
  };
  if (receiver !== undefined) envelope.receiver = receiver;
  return { ok: true, envelope };
}

// ---------------------------------------------------------------------------------------------
// Opening the data block
// ---------------------------------------------------------------------------------------------

/**
 * Opens the data block of an envelope read by {@link readEnvelope}.
 *
 * Clear: the payload is `[data]` then any `[extended]` blocks then an optional timestamp, and
 * nothing else; data and extended blocks hold no '[' or ']'. A departure -> 'syntax'.
 *
 * Encrypted (SIA DC-09 (2013/2021), as described by public implementations): the payload is `[`
 * then hex of AES-CBC (key 128/192/256-bit from `keyHex`, IV all zero, no PKCS padding) over
 * `padding | data ] [ext]... _HH:MM:SS,MM-DD-YYYY`, the padding (any characters but `[`, `]`, `|`)
 * bringing the total to whole 16-byte blocks. The padding ends at the first `|`; when a `]` comes
 * before any `|` the padding ends there and the data is empty — pysiaalarm writes its encrypted
 * answers (and its own test NULL frames) that way, zero-filled with no `|`. The timestamp is
 * mandatory here.
 * Errors: encrypted without a key -> 'no_key'; a key that is not 32/48/64 hex digits, ciphertext
 * that is not whole blocks of hex, or plaintext that is not ASCII padding plus printable text
 * (what a wrong key yields) -> 'decrypt'; printable but malformed plaintext -> 'syntax'.
 * Never throws.
 */
export function openPayload(envelope: Dc09Envelope, keyHex?: string): OpenPayloadResult {
  try {
    return openPayloadUnsafe(envelope, keyHex);
  } catch (error) {
    return { ok: false, error: envelope?.encrypted ? 'decrypt' : 'syntax', message: `unreadable payload: ${String(error)}` };
  }
}

function openPayloadUnsafe(envelope: Dc09Envelope, keyHex: string | undefined): OpenPayloadResult {
  const payload = envelope.payload;
  if (typeof payload !== 'string' || !payload.startsWith('[')) {
    return { ok: false, error: envelope.encrypted ? 'decrypt' : 'syntax', message: 'payload does not start with [' };
  }
  if (!envelope.encrypted) return parseClear(payload.slice(1), false, 'syntax');
  if (keyHex === undefined || keyHex === '') return { ok: false, error: 'no_key', message: `encrypted ${envelope.token} frame and no key for account ${envelope.account}` };
  const key = parseKey(keyHex);
  if (typeof key === 'string') return { ok: false, error: 'decrypt', message: key };
  const cipherHex = payload.slice(1);
  if (cipherHex.length === 0 || !HEX.test(cipherHex) || cipherHex.length % (2 * AES_BLOCK) !== 0) {
    return { ok: false, error: 'decrypt', message: `encrypted payload of ${cipherHex.length} characters is not whole 16-byte blocks of hex` };
  }
  const decipher = createDecipheriv(`aes-${key.length * 8}-cbc`, key, Buffer.alloc(AES_BLOCK));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(cipherHex, 'hex')), decipher.final()]);
  const pipe = plain.indexOf(0x7c);
  const close = plain.indexOf(0x5d);
  if (close < 0) return { ok: false, error: 'decrypt', message: 'decrypted text has no ] (wrong key?)' };
  const paddingEnd = pipe >= 0 && pipe < close ? pipe : close;
  for (let i = 0; i < paddingEnd; i++) {
    const byte = plain[i] as number;
    if (byte > 0x7f || byte === 0x5b) return { ok: false, error: 'decrypt', message: 'decrypted padding is not ASCII (wrong key?)' };
  }
  const rest = plain.toString('latin1', paddingEnd === pipe ? pipe + 1 : close);
  if (!PRINTABLE.test(rest)) return { ok: false, error: 'decrypt', message: 'decrypted text is not printable ASCII (wrong key?)' };
  return parseClear(rest, true, 'syntax');
}

/** A key as bytes, or why not: 32, 48 or 64 hex digits (AES-128/192/256). */
function parseKey(keyHex: string): Buffer | string {
  if (typeof keyHex !== 'string' || !HEX.test(keyHex) || ![32, 48, 64].includes(keyHex.length)) {
    return 'key is not 32, 48 or 64 hex digits (AES-128/192/256)';
  }
  return Buffer.from(keyHex, 'hex');
}

/**
 * Parses what follows the data block's '[' in a clear frame (or after the padding of a decrypted
 * one): `data]`, `[ext]`..., optional `_HH:MM:SS,MM-DD-YYYY`, end.
 */
function parseClear(text: string, requireTimestamp: boolean, error: 'syntax'): OpenPayloadResult {
  const close = text.indexOf(']');
  if (close < 0) return { ok: false, error, message: 'data block has no ]' };
  const data = text.slice(0, close);
  if (data.includes('[')) return { ok: false, error, message: 'data block holds [' };
  const extended: string[] = [];
  let at = close + 1;
  while (text[at] === '[') {
    const end = text.indexOf(']', at + 1);
    if (end < 0) return { ok: false, error, message: 'extended block has no ]' };
    const block = text.slice(at + 1, end);
    if (block.includes('[')) return { ok: false, error, message: 'extended block holds [' };
    extended.push(block);
    at = end + 1;
  }
  const tail = text.slice(at);
  const content: Dc09Content = { data, extended };
  if (tail === '') {
    if (requireTimestamp) return { ok: false, error, message: 'encrypted frame without timestamp' };
    return { ok: true, content };
  }
  if (tail.length !== TIMESTAMP_LENGTH) return { ok: false, error, message: `unexpected ${JSON.stringify(tail.slice(0, 40))} after the data blocks` };
  const timestamp = parseTimestamp(tail);
  if (!timestamp) return { ok: false, error, message: `invalid timestamp ${JSON.stringify(tail)}` };
  content.timestamp = timestamp;
  return { ok: true, content };
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** Wraps a body into a whole frame: LF, CRC, length, body, CR. Throws RangeError beyond {@link MAX_BODY_LENGTH}. */
function wrap(body: string): Buffer {
  if (body.length > MAX_BODY_LENGTH) throw new RangeError(`DC-09 body of ${body.length} bytes exceeds ${MAX_BODY_LENGTH}`);
  return Buffer.from(`\n${hex4(crc16Arc(body))}${hex4(body.length)}${body}\r`, 'latin1');
}

function checkBlock(what: string, text: string): void {
  if (typeof text !== 'string' || !PRINTABLE.test(text) || text.includes('[') || text.includes(']')) {
    throw new RangeError(`${what} must be printable ASCII without [ or ]: ${JSON.stringify(text)}`);
  }
}

/**
 * Writes a whole frame, LF to CR inclusive (the inverse of {@link readEnvelope} then
 * {@link openPayload}). When `fields.encrypted` the data block is encrypted as openPayload
 * describes, with `options.keyHex` (required) and a timestamp (required), the padding being
 * 1-16 characters: `options.padding` repeated (tests: fixed ciphertext), else random
 * alphanumerics. The account is written upper-cased; `L` is always written.
 * Throws (RangeError) on fields that could not be read back: a token outside [A-Z0-9-]{1,16},
 * a sequence not 4 digits, a receiver/line prefix not 1-6 hex digits, an account not 3-16 hex
 * digits (empty allowed only for answer tokens), data or extended blocks with '[' ']' or
 * non-printable characters, a body over 0x0FFF bytes, a bad key or padding.
 * Source: SIA DC-09 (2013/2021), as described by public implementations.
 */
export function encodeFrame(fields: Dc09Header & { content: Dc09Content }, options: { keyHex?: string; padding?: string } = {}): Buffer {
  const { token, encrypted, sequence, receiver, linePrefix, account, content } = fields;
  if (!/^[A-Z0-9-]{1,16}$/.test(token)) throw new RangeError(`token ${JSON.stringify(token)} is not [A-Z0-9-]{1,16}`);
  if (!/^[0-9]{4}$/.test(sequence)) throw new RangeError(`sequence ${JSON.stringify(sequence)} is not 4 digits`);
  if (receiver !== undefined && !/^[0-9A-Fa-f]{1,6}$/.test(receiver)) throw new RangeError(`receiver ${JSON.stringify(receiver)} is not 1-6 hex digits`);
  if (!/^[0-9A-Fa-f]{1,6}$/.test(linePrefix)) throw new RangeError(`line prefix ${JSON.stringify(linePrefix)} is not 1-6 hex digits`);
  const isAnswer = (ANSWER_TOKENS as readonly string[]).includes(token);
  if (!(account === '' && isAnswer) && !/^[0-9A-Fa-f]{3,16}$/.test(account)) throw new RangeError(`account ${JSON.stringify(account)} is not 3-16 hex digits`);
  checkBlock('data', content.data);
  for (const block of content.extended) checkBlock('extended block', block);

  const head = `"${encrypted ? '*' : ''}${token}"${sequence}${receiver !== undefined ? `R${receiver}` : ''}L${linePrefix}${account ? `#${account.toUpperCase()}` : ''}[`;
  const stamp = content.timestamp !== undefined ? formatTimestamp(content.timestamp) : '';
  const rest = `${content.data}]${content.extended.map((block) => `[${block}]`).join('')}${stamp}`;
  if (!encrypted) return wrap(head + rest);

  if (content.timestamp === undefined) throw new RangeError('an encrypted frame needs a timestamp');
  if (options.keyHex === undefined) throw new RangeError('an encrypted frame needs keyHex');
  const key = parseKey(options.keyHex);
  if (typeof key === 'string') throw new RangeError(key);
  const remainder = (rest.length + 1) % AES_BLOCK; // + 1: the '|'
  const padLength = remainder === 0 ? AES_BLOCK : AES_BLOCK - remainder;
  const plain = `${makePadding(padLength, options.padding)}|${rest}`;
  const cipher = createCipheriv(`aes-${key.length * 8}-cbc`, key, Buffer.alloc(AES_BLOCK));
  cipher.setAutoPadding(false);
  const hex = Buffer.concat([cipher.update(Buffer.from(plain, 'latin1')), cipher.final()]).toString('hex').toUpperCase();
  return wrap(head + hex);
}

function makePadding(length: number, fixed: string | undefined): string {
  if (fixed !== undefined) {
    if (fixed === '' || !PRINTABLE.test(fixed) || [...fixed].some((c) => FORBIDDEN_PADDING.has(c))) {
      throw new RangeError(`padding must be printable ASCII without [ ] |: ${JSON.stringify(fixed)}`);
    }
    return fixed.repeat(Math.ceil(length / fixed.length)).slice(0, length);
  }
  return [...randomBytes(length)].map((b) => PADDING_ALPHABET[b % PADDING_ALPHABET.length]).join('');
}

/**
 * The receiver's answer to a frame, whole (LF..CR). Source: SIA DC-09 (2013/2021), as described
 * by public implementations.
 *
 * - ACK: `"ACK"SEQ[Rrcvr]Lpref#acct[]`, echoing the frame's sequence, receiver, line prefix and
 *   account. To an encrypted frame (`to.encrypted`), `"*ACK"SEQ[Rrcvr]Lpref#acct[<hex>` with
 *   `options.now` as the timestamp inside, encrypted with `options.keyHex` (required) like any
 *   frame: `padding|]_HH:MM:SS,MM-DD-YYYY`. dc09_spt reads an encrypted answer's last 21
 *   characters (`]_...`), pysiaalarm writes zero padding with no `|`; this form satisfies both
 *   readings and {@link openPayload}.
 * - NAK: `"NAK"0000R0L0A0[]_HH:MM:SS,MM-DD-YYYY` with `options.now`, never encrypted, whatever
 *   `to` says (it may be undefined). Chosen over echoing the frame's receiver/line/account because
 *   it is what every public receiver we found sends verbatim (pysiaalarm, a Node.js and a Perl
 *   receiver, and a NAK captured from a Visonic PowerLink server in a public decoder) — apparently
 *   the standard's own example — so it is what panels are tested against; and a NAK often answers
 *   a frame whose header cannot be trusted (bad CRC). Panels use it to correct their clock.
 *   (Read back with {@link readEnvelope}, its `L0A0` is line prefix '0A0' and no account.)
 * - DUH ("unable to process"): `"DUH"SEQ[Rrcvr]Lpref#acct[]`, never encrypted (as pysiaalarm).
 *
 * Throws RangeError when an ACK to an encrypted frame has no usable key, or on fields
 * {@link encodeFrame} refuses.
 */
export function encodeAnswer(kind: 'ACK' | 'NAK' | 'DUH', to: Dc09Header | undefined, options: { now: Date; keyHex?: string }): Buffer {
  if (kind === 'NAK') return wrap(`"NAK"0000R0L0A0[]${formatTimestamp(options.now)}`);
  if (!to) throw new RangeError(`${kind} needs the frame it answers`);
  const encrypted = kind === 'ACK' && to.encrypted;
  const fields: Dc09Header & { content: Dc09Content } = {
    token: kind,
    encrypted,
    sequence: to.sequence,
    linePrefix: to.linePrefix,
    account: to.account,
    content: encrypted ? { data: '', extended: [], timestamp: options.now } : { data: '', extended: [] },
  };
  if (to.receiver !== undefined) fields.receiver = to.receiver;
  if (encrypted && options.keyHex === undefined) throw new RangeError('an ACK to an encrypted frame needs keyHex');
  return encodeFrame(fields, encrypted ? { keyHex: options.keyHex } : {});
}
