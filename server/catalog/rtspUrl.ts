import { AppError } from '../errors/AppError.ts';

/** Characters refused anywhere in a camera URL as given: shell metacharacters, quotes, whitespace, controls ([] stay for IPv6 hosts). */
const FORBIDDEN = /[\s\u0000-\u001f\u007f;|&$`<>'"\\(){}*!^~]/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
/** Control characters (C0, DEL, C1, line/paragraph separators), percent-encoded: CR/LF would split an RTSP header (Digest username). */
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f|c2%[89][0-9a-f]|e2%80%a[89])/i;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export interface RtspCredentials {
  username: string;
  password?: string;
}

/**
 * Validates a camera URL: rtsp:// or rtsps:// only, a valid host, nothing that could reach a shell or
 * another protocol. Credentials may be inline (percent-encoded) or given apart; the result carries
 * them inline, percent-encoded. Throws AppError('invalid_request') naming the field.
 */
export function normaliseRtspUrl(input: string, field: string, credentials?: RtspCredentials): string {
  const fail = (why: string): never => {
    throw new AppError('invalid_request', `${field}: ${why}`);
  };
  if (typeof input !== 'string' || input.length === 0 || input.length > 2048) fail('must be a URL of at most 2048 characters');
  if (FORBIDDEN.test(input)) fail('contains characters not allowed in a camera URL (whitespace, quotes or shell metacharacters)');
  if (ENCODED_CONTROL.test(input)) fail('contains percent-encoded control characters');
  if (!/^rtsps?:\/\//i.test(input)) fail('must start with rtsp:// or rtsps://');
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail('is not a valid URL');
  }
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') fail('must be an rtsp:// or rtsps:// URL');
  const host = url.hostname;
  const ipv6 = host.startsWith('[') && host.endsWith(']');
  if (!host || !(IPV4.test(host) || ipv6 || (HOSTNAME.test(host) && !/^\d+(\.\d+)*$/.test(host)))) fail('has no valid host');
  if (url.port && (Number(url.port) < 1 || Number(url.port) > 65535)) fail('has an invalid port');
  if (url.hash) fail('must not have a #fragment');
  for (const part of [url.username, url.password]) {
    try {
      decodeURIComponent(part);
    } catch {
      fail('has credentials that are not valid percent-encoding');
    }
  }
  if (credentials) {
    if (url.username) fail('has credentials both inline and apart');
    if (CONTROL.test(credentials.username) || (credentials.password && CONTROL.test(credentials.password))) fail('credentials must not contain control characters');
    url.username = encodeURIComponent(credentials.username);
    if (credentials.password) url.password = encodeURIComponent(credentials.password);
  }
  return url.toString();
}

/** The URL without its credentials, for showing: `rtsp://***@host:port/path`. */
export function maskRtspUrl(url: string): string {
  const parsed = new URL(url);
  const hadCredentials = Boolean(parsed.username || parsed.password);
  parsed.username = '';
  parsed.password = '';
  const bare = parsed.toString();
  return hadCredentials ? bare.replace('://', '://***@') : bare;
}

/** Splits a stored URL into the credential-free URL and its credentials, for the ingest. */
export function splitCredentials(url: string): { url: string; username?: string; password?: string } {
  const parsed = new URL(url);
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), ...(username !== undefined && { username }), ...(password !== undefined && { password }) };
}
