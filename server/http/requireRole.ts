import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors/AppError.ts';
import type { Identity, Role } from '../auth/Identity.ts';
import type { TokenService } from '../auth/TokenService.ts';

declare module 'express-serve-static-core' {
  interface Request {
    identity?: Identity;
  }
}

/** Bearer JWT (Authorization header only, never a query parameter), with one of `roles` (any role when empty). */
export function requireRole(tokens: TokenService, ...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    if (!match) throw new AppError('unauthenticated', 'an Authorization: Bearer token is required');
    const verified = tokens.verify(match[1]);
    if (roles.length > 0 && !roles.includes(verified.role)) {
      throw new AppError('forbidden', `this needs the ${roles.join(' or ')} role`);
    }
    req.identity = { userId: verified.userId, role: verified.role, authTime: verified.authTime };
    next();
  };
}
