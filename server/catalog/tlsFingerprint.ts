import { z } from 'zod';
import { AppError } from '../errors/AppError.ts';

/**
 * A camera's pinned certificate: the SHA-256 fingerprint of its certificate (32 bytes), as
 * `openssl x509 -noout -fingerprint -sha256` prints it (colon-separated) or as bare hex, any case.
 */
const FINGERPRINT = /^(?:[0-9A-Fa-f]{64}|(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$/;

const HOW = 'a SHA-256 fingerprint: 64 hex digits, with or without colons between the bytes';

/** Whether `input` (trimmed) is a SHA-256 fingerprint this catalog accepts. */
export function isTlsFingerprint(input: string): boolean {
  return FINGERPRINT.test(input.trim());
}

/**
 * The stored form of a certificate fingerprint: upper-case hex, colon-separated bytes
 * (`AB:CD:…`, 95 characters). Throws AppError('invalid_request') naming the field otherwise.
 */
export function normaliseTlsFingerprint(input: string, field = 'tlsFingerprint'): string {
  if (typeof input !== 'string' || !isTlsFingerprint(input)) throw new AppError('invalid_request', `${field}: must be ${HOW}`);
  return format(input);
}

function format(valid: string): string {
  const hex = valid.trim().replace(/:/g, '').toUpperCase();
  return (hex.match(/../g) ?? []).join(':');
}

/** The zod field for a fingerprint in a request or the configuration: validated, then normalised. */
export const tlsFingerprintSchema = z
  .string()
  .trim()
  .regex(FINGERPRINT, `must be ${HOW}`)
  .transform(format)
  .describe(
    "SHA-256 fingerprint of an rtsps camera's certificate (self-signed cameras), hex with or without colons as " +
      '`openssl x509 -noout -fingerprint -sha256` prints it; stored as upper-case colon-separated hex. Absent: the ' +
      "certificate is verified against the system's CAs. Only for rtsps:// URLs.",
  );

/** Refuses a pin on a camera whose URL is not rtsps:// (it has no certificate to pin). */
export function checkTlsFingerprintUrl(url: string, fingerprint: string | undefined, field = 'tlsFingerprint'): void {
  if (fingerprint !== undefined && !/^rtsps:\/\//i.test(url)) {
    throw new AppError('invalid_request', `${field}: only an rtsps:// camera has a certificate to pin (its URL is rtsp://); remove the fingerprint or use an rtsps:// URL`);
  }
}
