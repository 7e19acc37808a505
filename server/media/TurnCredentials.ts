/**
 * Time-limited TURN credentials for consoles, in the "TURN REST API" scheme of
 * draft-uberti-behave-turn-rest-00 ("A REST API For Access To TURN Services"), the one coturn
 * implements with `--use-auth-secret` / `--static-auth-secret=<secret>` (turnserver.conf:
 * `use-auth-secret`, `static-auth-secret=`):
 *
 *   username   = "<expiry as Unix seconds>:<user id>"
 *   credential = base64(HMAC-SHA1(secret, username))
 *
 * The TURN server recomputes the credential from the username with the shared secret and refuses
 * it once the expiry has passed, so nothing is stored or pushed to the TURN server per user. The
 * credential only gets a client onto the TURN server (long-term credential mechanism, RFC 8489 §9.2);
 * the media itself is still DTLS-SRTP end to end with the SFU.
 *
 *   const turn = new TurnCredentials({ urls: ['turns:turn.example.org:443?transport=tcp'], secret, ttlS: 3600 });
 *   turn.iceServers(userId)  // [{ urls, username, credential }]: RTCIceServer entries for the client
 */
import { createHmac } from 'node:crypto';

export interface TurnSettings {
  /** TURN URLs handed to clients, e.g. `turns:203.0.113.5:443?transport=tcp`, `turn:203.0.113.5:443?transport=tcp`. */
  urls: string[];
  /** The shared secret, the TURN server's `static-auth-secret`. */
  secret: string;
  /** How long an issued credential stays valid, in seconds. */
  ttlS: number;
}

/** One RTCIceServer entry (what RTCPeerConnection / mediasoup-client's `iceServers` take). */
export interface TurnIceServer {
  urls: string[];
  username: string;
  credential: string;
}

/** The REST-API username: `<expiry Unix seconds>:<user id>`. The user id must not contain ':' (coturn's separator). */
export function turnUsername(userId: string, expiresAtS: number): string {
  if (userId.length === 0 || userId.includes(':')) throw new Error('a TURN user id must be non-empty and must not contain ":"');
  if (!Number.isSafeInteger(expiresAtS) || expiresAtS <= 0) throw new Error('the TURN expiry must be a positive whole number of seconds');
  return `${expiresAtS}:${userId}`;
}

/** The REST-API credential: base64(HMAC-SHA1(secret, username)). */
export function turnCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

export class TurnCredentials {
  readonly #settings: TurnSettings;
  readonly #now: () => number;

  /** `now`: milliseconds since the epoch (Date.now by default; tests pass a fixed clock). */
  constructor(settings: TurnSettings, now: () => number = Date.now) {
    if (settings.urls.length === 0) throw new Error('TURN needs at least one URL');
    for (const url of settings.urls) {
      if (!/^turns?:/.test(url)) throw new Error(`not a TURN URL: ${url}`);
    }
    if (settings.secret.length === 0) throw new Error('TURN needs a shared secret');
    if (!Number.isInteger(settings.ttlS) || settings.ttlS < 1) throw new Error('the TURN credential lifetime must be a whole number of seconds >= 1');
    this.#settings = { urls: [...settings.urls], secret: settings.secret, ttlS: settings.ttlS };
    this.#now = now;
  }

  /** RTCIceServer entries for this user, valid for ttlS seconds from now. */
  iceServers(userId: string): TurnIceServer[] {
    const expiresAtS = Math.floor(this.#now() / 1000) + this.#settings.ttlS;
    const username = turnUsername(userId, expiresAtS);
    return [{ urls: [...this.#settings.urls], username, credential: turnCredential(this.#settings.secret, username) }];
  }
}
