import { createHash, randomBytes } from 'node:crypto';

/** A camera login. Both strings are used as UTF-8, any character allowed. */
export interface RtspCredentials {
  username: string;
  password: string;
}

/** The schemes this client can answer: Basic (RFC 7617) and Digest (RFC 7616) by hash algorithm. */
export type AuthScheme = 'basic' | 'digest-md5' | 'digest-md5-sess' | 'digest-sha256' | 'digest-sha256-sess';

/** One usable WWW-Authenticate challenge; string values are unquoted and unescaped. */
export interface AuthChallenge {
  scheme: AuthScheme;
  /** '' when the camera sent none. */
  realm: string;
  /** Digest only; a Digest challenge without a nonce is not usable and not returned. */
  nonce?: string;
  opaque?: string;
  /** The qop options offered, lower-cased (e.g. ['auth', 'auth-int']); absent when none were offered. */
  qop?: string[];
  /** stale=true (RFC 7616 §3.3): the nonce expired, the credentials were right. */
  stale: boolean;
  /** The algorithm parameter exactly as the camera spelled it ('MD5', 'md5', 'SHA-256-sess', ...). */
  algorithm?: string;
}

/** Digest algorithms (RFC 7616 §6.1 registry; MD5 also RFC 2617 §3.2.1) by their upper-cased name. */
const DIGEST_ALGORITHMS: Record<string, AuthScheme> = {
  MD5: 'digest-md5',
  'MD5-SESS': 'digest-md5-sess',
  'SHA-256': 'digest-sha256',
  'SHA-256-SESS': 'digest-sha256-sess',
};

const STRENGTH: Record<AuthScheme, number> = {
  basic: 0,
  'digest-md5': 1,
  'digest-md5-sess': 1,
  'digest-sha256': 2,
  'digest-sha256-sess': 2,
};

/** How many stale=true answers in a row are followed before giving up (a camera that always says stale). */
const MAX_STALE_IN_A_ROW = 3;

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * The challenges of one header value as scheme + parameters (RFC 7235 §2.1 and §4.1):
 * `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`, several challenges separated by
 * commas. A token followed by `=` is a parameter of the current challenge, any other token starts
 * a new challenge. Quoted strings may hold commas and `\`-escaped characters (RFC 7230 §3.2.6).
 * Names are lower-cased. Stray characters are skipped, so no input makes this loop forever.
 */
function splitChallenges(value: string): Array<{ scheme: string; params: Map<string, string> }> {
  const challenges: Array<{ scheme: string; params: Map<string, string> }> = [];
  let pos = 0;
  const skip = (chars: RegExp) => {
    while (pos < value.length && chars.test(value[pos]!)) pos++;
  };
  const token = (): string => {
    const start = pos;
    while (pos < value.length && TOKEN_CHAR.test(value[pos]!)) pos++;
    return value.slice(start, pos);
  };
  const quoted = (): string => {
    let text = '';
    pos++; // the opening quote
    while (pos < value.length && value[pos] !== '"') {
      if (value[pos] === '\\' && pos + 1 < value.length) pos++;
      text += value[pos++];
    }
    pos++; // the closing quote (or the end of an unterminated string)
    return text;
  };

  let current: { scheme: string; params: Map<string, string> } | undefined;
  while (pos < value.length) {
    skip(/[\s,]/);
    if (pos >= value.length) break;
    const name = token();
    if (!name) {
      pos++; // not a token character: skip it
      continue;
    }
    skip(/[ \t]/);
    if (value[pos] === '=') {
      pos++;
      skip(/[ \t]/);
      const paramValue = value[pos] === '"' ? quoted() : token();
      // token68 (e.g. "Negotiate abc==") ends with '=' signs: read through them.
      skip(/=/);
      // A parameter before any scheme is dropped; a repeated one keeps its first value.
      if (current && !current.params.has(name.toLowerCase())) current.params.set(name.toLowerCase(), paramValue);
    } else {
      current = { scheme: name.toLowerCase(), params: new Map() };
      challenges.push(current);
    }
  }
  return challenges;
}

/**
 * Parses every WWW-Authenticate header value (RFC 7235 §4.1; several challenges may share one
 * value, comma-separated, and quoted strings may contain commas and escaped quotes). Returns the
 * Basic and Digest challenges in header order. Unknown schemes, unknown Digest algorithms
 * (SHA-512-256 included) and Digest challenges without a nonce are skipped.
 */
export function parseChallenges(values: readonly string[]): AuthChallenge[] {
  const result: AuthChallenge[] = [];
  for (const value of values) {
    for (const { scheme, params } of splitChallenges(value)) {
      const realm = params.get('realm') ?? '';
      if (scheme === 'basic') {
        result.push({ scheme: 'basic', realm, stale: false });
        continue;
      }
      if (scheme !== 'digest') continue;
      const algorithm = params.get('algorithm');
      const digestScheme = DIGEST_ALGORITHMS[(algorithm ?? 'MD5').toUpperCase()];
      const nonce = params.get('nonce');
      if (!digestScheme || nonce === undefined) continue;
      const challenge: AuthChallenge = { scheme: digestScheme, realm, nonce, stale: params.get('stale')?.toLowerCase() === 'true' };
      const opaque = params.get('opaque');
      if (opaque !== undefined) challenge.opaque = opaque;
      const qop = params.get('qop');
      if (qop !== undefined) {
        const options = qop.split(',').map((option) => option.trim().toLowerCase()).filter(Boolean);
        if (options.length > 0) challenge.qop = options;
      }
      if (algorithm !== undefined) challenge.algorithm = algorithm;
      result.push(challenge);
    }
  }
  return result;
}

/**
 * Digest answers qop=auth, auth-int (our requests have no body, so its entity hash is H(""), RFC 7616
 * §3.4.3), or no qop at all; an unknown qop alone cannot be answered.
 */
function usable(challenge: AuthChallenge): boolean {
  return challenge.scheme === 'basic' || challenge.qop === undefined || challenge.qop.includes('auth') || challenge.qop.includes('auth-int');
}

/** A quoted-string (RFC 7230 §3.2.6) with `"` and `\` escaped. */
function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Answers the WWW-Authenticate challenges of an RTSP camera (RTSP 1.0 uses HTTP authentication,
 * RFC 2326 §D.1 / RFC 7235): Basic (RFC 7617) and Digest (RFC 7616, RFC 2617, and the RFC 2069 form
 * without qop that many cameras use) with MD5 or SHA-256, plain or -sess.
 *
 * Meant for a client that sends one request at a time: authorization() for every request, and
 * challenge() for every 401. Each authorization() counts as one request under the current nonce.
 */
export class RtspAuthenticator {
  readonly #credentials: RtspCredentials | undefined;
  readonly #newCnonce: () => string;
  #challenge: AuthChallenge | undefined;
  /** Requests sent with the current challenge (the nc of the last one, for Digest). */
  #sent = 0;
  /** Requests sent since the last 401: two or more mean one was answered without a 401. */
  #sentSinceLast401 = 0;
  #staleInARow = 0;
  /** A different challenge already answered a 401 that came right after our credentials. */
  /** For -sess: the cnonce that went into the session key, kept for the life of the nonce. */
  #sessionCnonce: string | undefined;

  /**
   * @param credentials the login, or undefined when none is configured.
   * @param options.cnonce a test hook returning the client nonce; by default 16 random bytes as hex.
   */
  constructor(credentials: RtspCredentials | undefined, options: { cnonce?: () => string } = {}) {
    this.#credentials = credentials;
    this.#newCnonce = options.cnonce ?? (() => randomBytes(16).toString('hex'));
  }

  /** The scheme in use, for logs (never the credentials). */
  get scheme(): AuthScheme | undefined {
    return this.#challenge?.scheme;
  }

  /**
   * Called with all WWW-Authenticate values of a 401. Picks the strongest usable challenge whatever
   * the header order (Digest SHA-256(-sess) > Digest MD5(-sess) > Basic; the first one listed among
   * equals).
   *
   * - 'unsupported': no challenge is usable (checked first: configuring credentials would not help);
   * - 'no_credentials': none are configured;
   * - 'retry': a first challenge, a changed one, or Digest stale=true (a fresh nonce, RFC 7616 §3.3:
   *   the password was right);
   * - 'rejected': the same credentials were already sent for this scheme, realm and nonce and the
   *   camera answered without stale (wrong password).
   *
   * Cameras lock accounts out after a few failed logins, so credentials refused on the request that
   * carried them are 'rejected' at once, even when the camera hands out a new nonce (without
   * stale=true); stale=true is followed at most three times in a row.
   */
  challenge(values: readonly string[]): 'retry' | 'rejected' | 'no_credentials' | 'unsupported' {
    let best: AuthChallenge | undefined;
    for (const candidate of parseChallenges(values)) {
      if (usable(candidate) && (!best || STRENGTH[candidate.scheme] > STRENGTH[best.scheme])) best = candidate;
    }
    if (!best) return 'unsupported';
    if (!this.#credentials) return 'no_credentials';

    const previous = this.#challenge;
    const refusedRightAway = previous !== undefined && this.#sent > 0 && this.#sentSinceLast401 <= 1;
    if (this.#sentSinceLast401 >= 2) {
      this.#staleInARow = 0;
    }
    const sentWithPrevious = previous !== undefined && this.#sent > 0;
    this.#sentSinceLast401 = 0;

    let verdict: 'retry' | 'rejected';
    if (!sentWithPrevious) verdict = 'retry';
    else if (best.scheme !== 'basic' && best.stale) verdict = ++this.#staleInARow > MAX_STALE_IN_A_ROW ? 'rejected' : 'retry';
    else if (best.scheme === previous?.scheme && best.realm === previous.realm && best.nonce === previous.nonce) verdict = 'rejected';
    // Credentials refused on the very request that carried them (no stale=true): a wrong password.
    // Trying again, even with a new nonce, would only bring the camera nearer to locking us out.
    else if (refusedRightAway) verdict = 'rejected';
    else verdict = 'retry';

    const sameNonce = previous !== undefined && previous.scheme === best.scheme && previous.nonce === best.nonce;
    this.#challenge = best;
    if (!sameNonce) {
      this.#sent = 0;
      this.#sessionCnonce = undefined;
    }
    return verdict;
  }

  /**
   * The Authorization header value for a request, or undefined when no challenge has been accepted
   * yet (Basic is never sent pre-emptively).
   *
   * @param method the request method, e.g. 'DESCRIBE'.
   * @param uri the request URI exactly as on the request line.
   *
   * Basic: RFC 7617 §2, user-id:password in UTF-8, base64. Digest: RFC 7616 §3.4 (RFC 2617 §3.2.2
   * for MD5): with qop=auth when offered (nc = 8 hex digits counting the requests under one nonce,
   * a fresh cnonce each time), without qop otherwise (RFC 2069); -sess hashes HA1 again with nonce
   * and cnonce (RFC 7616 §3.4.2), keeping the first cnonce for the whole nonce since the server
   * keys the session on it; SHA-256 uses hex SHA-256; opaque is echoed, and algorithm is echoed as
   * the camera spelled it (and left out when the camera sent none).
   */
  authorization(method: string, uri: string): string | undefined {
    const challenge = this.#challenge;
    const credentials = this.#credentials;
    if (!challenge || !credentials) return undefined;
    this.#sent++;
    this.#sentSinceLast401++;
    if (challenge.scheme === 'basic') {
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
    }

    const hashName = challenge.scheme.startsWith('digest-sha256') ? 'sha256' : 'md5';
    const hash = (text: string) => createHash(hashName).update(text, 'utf8').digest('hex');
    const nonce = challenge.nonce ?? '';
    const qop = challenge.qop?.includes('auth') ? 'auth' : challenge.qop?.includes('auth-int') ? 'auth-int' : undefined;
    const session = challenge.scheme.endsWith('-sess');
    let cnonce: string | undefined;
    if (session) cnonce = this.#sessionCnonce ??= this.#newCnonce();
    else if (qop) cnonce = this.#newCnonce();
    const nc = this.#sent.toString(16).padStart(8, '0');

    let ha1 = hash(`${credentials.username}:${challenge.realm}:${credentials.password}`);
    if (session) ha1 = hash(`${ha1}:${nonce}:${cnonce}`);
    // RFC 7616 §3.4.3: auth-int adds the hash of the entity body, empty for every request we send.
    const ha2 = qop === 'auth-int' ? hash(`${method}:${uri}:${hash('')}`) : hash(`${method}:${uri}`);
    const response = qop ? hash(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : hash(`${ha1}:${nonce}:${ha2}`);

    const parts = [`username=${quote(credentials.username)}`, `realm=${quote(challenge.realm)}`, `nonce=${quote(nonce)}`, `uri=${quote(uri)}`];
    if (challenge.algorithm !== undefined) parts.push(`algorithm=${challenge.algorithm}`);
    parts.push(`response="${response}"`);
    if (qop) parts.push(`qop=${qop}`, `nc=${nc}`);
    if (cnonce !== undefined) parts.push(`cnonce=${quote(cnonce)}`);
    if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
    return `Digest ${parts.join(', ')}`;
  }
}
