import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The signature of the HTTP alarm intake (POST /api/alarms). A device holds a 256-bit key (64 hex
 * digits, issued once by the server) and sends, besides its JSON body:
 *
 *   X-C5-Device:     its code
 *   X-C5-Timestamp:  Unix time in seconds (decimal) when it signed
 *   X-C5-Request-Id: a value it never reuses (8-128 of A-Z a-z 0-9 . _ -)
 *   X-C5-Signature:  hex HMAC-SHA256(key, timestamp "\n" requestId "\n" METHOD "\n" path "\n" hex SHA-256(body))
 *
 * `path` is the request path without its query (`/api/alarms`), as the server receives it; the
 * body is hashed byte for byte as sent. HMAC is RFC 2104; SHA-256 is FIPS 180-4.
 */
export const signatureHeaders = {
  device: 'x-c5-device',
  timestamp: 'x-c5-timestamp',
  requestId: 'x-c5-request-id',
  signature: 'x-c5-signature',
} as const;

export const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;
const TIMESTAMP = /^\d{1,12}$/;
const HEX_SIGNATURE = /^[0-9a-fA-F]{64}$/;
const HEX_KEY = /^[0-9a-f]{64}$/;

export interface SignedParts {
  /** Unix seconds, as sent. */
  timestamp: string;
  requestId: string;
  method: string;
  path: string;
  body: Buffer;
}

/** A new device key: 32 random bytes as 64 lower-case hex digits. */
export function newDeviceKey(): string {
  return randomBytes(32).toString('hex');
}

/** The string a device signs (see the module comment). */
export function canonicalString(parts: SignedParts): string {
  const bodyHash = createHash('sha256').update(parts.body).digest('hex');
  return `${parts.timestamp}\n${parts.requestId}\n${parts.method.toUpperCase()}\n${parts.path}\n${bodyHash}`;
}

/** The hex signature of `parts` under `keyHex` (what a device computes). */
export function sign(keyHex: string, parts: SignedParts): string {
  if (!HEX_KEY.test(keyHex)) throw new Error('a device key is 64 lower-case hex digits');
  return createHmac('sha256', Buffer.from(keyHex, 'hex')).update(canonicalString(parts)).digest('hex');
}

/** Whether `signatureHex` is the signature of `parts` under `keyHex`, compared in constant time. */
export function verify(keyHex: string, parts: SignedParts, signatureHex: string): boolean {
  if (!HEX_SIGNATURE.test(signatureHex)) return false;
  const expected = Buffer.from(sign(keyHex, parts), 'hex');
  return timingSafeEqual(expected, Buffer.from(signatureHex, 'hex'));
}

/** The headers a device sends for `body` (tests, the bench and device simulators use it). */
export function signedHeaders(options: { deviceCode: string; keyHex: string; body: string | Buffer; path?: string; method?: string; timestampS?: number; requestId?: string }): Record<string, string> {
  const timestamp = String(options.timestampS ?? Math.floor(Date.now() / 1000));
  const requestId = options.requestId ?? randomBytes(12).toString('base64url');
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  const signature = sign(options.keyHex, { timestamp, requestId, method: options.method ?? 'POST', path: options.path ?? '/api/alarms', body });
  return {
    [signatureHeaders.device]: options.deviceCode,
    [signatureHeaders.timestamp]: timestamp,
    [signatureHeaders.requestId]: requestId,
    [signatureHeaders.signature]: signature,
  };
}

/** Whether a timestamp header is well formed (decimal seconds). */
export function isTimestamp(value: string): boolean {
  return TIMESTAMP.test(value);
}
