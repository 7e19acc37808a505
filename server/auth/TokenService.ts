import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { AppError } from '../errors/AppError.ts';
import { roles, type Identity } from './Identity.ts';

const ISSUER = 'c5-live';
const AUDIENCE = 'c5-console';
const ALGORITHM = 'HS256';

const claimsSchema = z.object({
  sub: z.string().min(1),
  role: z.enum(roles),
  auth_time: z.number().int(),
  exp: z.number().int(),
});

export interface IssuedToken {
  token: string;
  expiresAt: number;
}

/** Short-lived JWTs (HS256, algorithm pinned, issuer and audience checked). */
export class TokenService {
  constructor(
    private readonly secret: string,
    readonly ttlSeconds: number,
    readonly sessionMaxSeconds: number,
  ) {}

  issue(identity: Identity): IssuedToken {
    const now = Math.floor(Date.now() / 1000);
    const remaining = identity.authTime + this.sessionMaxSeconds - now;
    if (remaining <= 0) throw new AppError('unauthenticated', 'the session has reached its maximum length: sign in again');
    const ttl = Math.min(this.ttlSeconds, remaining);
    const token = jwt.sign({ role: identity.role, auth_time: identity.authTime }, this.secret, {
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
    return { userId: claims.data.sub, role: claims.data.role, authTime: claims.data.auth_time, expiresAt: claims.data.exp * 1000 };
  }
}
