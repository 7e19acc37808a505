import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { AppError } from '../errors/AppError.ts';
import { roles, type Identity } from './Identity.ts';
import { SessionRevocations } from './SessionRevocations.ts';

const ISSUER = 'c5-live';
const AUDIENCE = 'c5-console';
const ALGORITHM = 'HS256';

const claimsSchema = z.object({
  sub: z.string().min(1),
  role: z.enum(roles),
  auth_time: z.number().int(),
  exp: z.number().int(),
  sid: z.string().min(16).max(64),
});

export interface IssuedToken {
  token: string;
  expiresAt: number;
}

/**
 * Short-lived JWTs (HS256, algorithm pinned, issuer and audience checked), each carrying its
 * sign-in session (`sid`); a signed-out session's tokens are refused until they would have expired.
 */
export class TokenService {
  constructor(
    private readonly secret: string,
    readonly ttlSeconds: number,
    readonly sessionMaxSeconds: number,
    readonly revocations: SessionRevocations = new SessionRevocations(),
  ) {}

  /** A token for `identity`: of its session when it has one (a refresh), of a new session otherwise. */
  issue(identity: Identity): IssuedToken {
    const sessionId = identity.sessionId ?? randomBytes(18).toString('base64url');
    if (this.revocations.isRevoked(sessionId)) throw new AppError('unauthenticated', 'this session was signed out');
    const now = Math.floor(Date.now() / 1000);
    const remaining = identity.authTime + this.sessionMaxSeconds - now;
    if (remaining <= 0) throw new AppError('unauthenticated', 'the session has reached its maximum length: sign in again');
    const ttl = Math.min(this.ttlSeconds, remaining);
    const token = jwt.sign({ role: identity.role, auth_time: identity.authTime, sid: sessionId }, this.secret, {
      algorithm: ALGORITHM,
      subject: identity.userId,
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: ttl,
    });
    return { token, expiresAt: (now + ttl) * 1000 };
  }

  /** The identity and expiry of a valid token; AppError('unauthenticated') otherwise. */
  verify(token: unknown): Identity & { expiresAt: number } {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      throw new AppError('unauthenticated', 'a token is required');
    }
    let payload: unknown;
    try {
      payload = jwt.verify(token, this.secret, { algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE });
    } catch (error) {
      const expired = error instanceof jwt.TokenExpiredError;
      throw new AppError('unauthenticated', expired ? 'the token has expired' : 'the token is not valid');
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new AppError('unauthenticated', 'the token is not valid');
    if (this.revocations.isRevoked(claims.data.sid)) throw new AppError('unauthenticated', 'this session was signed out');
    const { sub, role, auth_time, exp, sid } = claims.data;
    return { userId: sub, role, authTime: auth_time, sessionId: sid, expiresAt: exp * 1000 };
  }

  /** Signs a session out: its tokens are refused until the longest-lived of them would have expired. */
  revoke(identity: Identity): void {
    if (!identity.sessionId) throw new AppError('unauthenticated', 'this token names no session');
    this.revocations.revoke(identity.sessionId, (identity.authTime + this.sessionMaxSeconds) * 1000 + 1000);
  }

  /** Called with the session id of every sign-out (the signalling server ends its sockets). */
  onRevoked(listener: (sessionId: string) => void): () => void {
    return this.revocations.onRevoked(listener);
  }

  close(): void {
    this.revocations.close();
  }
}
