import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A citizen's private status link (issue 26): 32 random bytes (256 bits, over the issue's 128),
 * base64url, shown once to the owner; the server stores only its SHA-256 (base64url). A reissue
 * makes a new token and a new hash, so the old link stops working.
 *
 *   const { token, hash } = StatusToken.issue();   // show `token` once, store `hash`
 *   StatusToken.matches(presented, hash)            // true only for that token
 */
export class StatusToken {
  /** Characters of an issued token (43 base64url characters for 32 bytes). */
  static readonly PATTERN = /^[A-Za-z0-9_-]{43}$/;

  static issue(): { token: string; hash: string } {
    const token = randomBytes(32).toString('base64url');
    return { token, hash: StatusToken.hash(token) };
  }

  static hash(token: string): string {
    return createHash('sha256').update(token, 'utf8').digest('base64url');
  }

  /** Whether `presented` is the token whose hash is `stored` (constant time over the hashes; anything malformed: false). */
  static matches(presented: unknown, stored: string): boolean {
    if (typeof presented !== 'string' || !StatusToken.PATTERN.test(presented)) return false;
    const a = Buffer.from(StatusToken.hash(presented), 'base64url');
    const b = Buffer.from(stored, 'base64url');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
