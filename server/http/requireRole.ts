import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors/AppError.ts';
import type { Identity, Role } from '../auth/Identity.ts';
import type { TokenService } from '../auth/TokenService.ts';
import type { UserService } from '../users/UserService.ts';
import type { UserRecord } from '../users/UserRecord.ts';
import type { AuditLog, AuditInput } from '../audit/AuditLog.ts';

/** Records an entry on behalf of the signed-in user of `req`. */
export function auditFor(auth: Authenticator, req: Request, input: AuditInput): Promise<unknown> {
  return auth.audit.record({
    ...(req.user && { userId: req.user.id, username: req.user.username }),
    ...(req.ip && { ip: req.ip }),
    ...input,
  });
}

declare module 'express-serve-static-core' {
  interface Request {
    identity?: Identity;
    user?: UserRecord;
  }
}

export interface Authenticator {
  tokens: TokenService;
  users: UserService;
  /** Where the routes record who changed what. */
  audit: AuditLog;
}

/**
 * Bearer JWT (Authorization header only, never a query parameter) of an enabled user whose
 * current role (not the token's memory of it) is one of `roles` (any role when empty).
 */
export function requireRole(auth: Authenticator, ...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    if (!match) throw new AppError('unauthenticated', 'an Authorization: Bearer token is required');
    const verified = auth.tokens.verify(match[1]);
    const user = auth.users.current(verified.userId);
    if (roles.length > 0 && !roles.includes(user.role)) {
      throw new AppError('forbidden', `this needs the ${roles.join(' or ')} role`);
    }
    req.user = user;
    req.identity = { userId: user.id, role: user.role, authTime: verified.authTime, ...(verified.sessionId && { sessionId: verified.sessionId }) };
    next();
  };
}
