import { Router } from 'express';
import { z } from 'zod';
import type { LoginCodes } from '../auth/LoginCodes.ts';
import { loginSchema, passwordResetSchema, userCreateSchema, userPatchSchema } from '../users/UserService.ts';
import type { Logger } from '../logging/createLogger.ts';
import { parseOr400 } from './parseOr400.ts';
import { auditFor, requireRole, type Authenticator } from './requireRole.ts';

const idParam = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a user id') });
const codeBody = z.strictObject({ code: z.string().min(10).max(200) });

/** /api/auth (sign-in), /api/me, /api/users (administration). */
export function userRoutes(auth: Authenticator, loginCodes: LoginCodes, logger: Logger): Router {
  const router = Router();
  const { tokens, users } = auth;

  router.post('/auth/login', async (req, res) => {
    const { username, password } = parseOr400(loginSchema, req.body, 'body');
    try {
      const user = await users.login(username, password, req.ip ?? 'unknown');
      logger.info({ user: user.username, ip: req.ip }, 'signed in');
      await auth.audit.record({ action: 'auth.login', userId: user.id, username: user.username, ...(req.ip && { ip: req.ip }) });
      res.json(tokens.issue({ userId: user.id, role: user.role, authTime: Math.floor(Date.now() / 1000) }));
    } catch (error) {
      logger.warn({ username: username.slice(0, 64), ip: req.ip, code: (error as { code?: string }).code }, 'sign-in refused');
      await auth.audit.record({ action: 'auth.login_failed', username: username.slice(0, 64), ...(req.ip && { ip: req.ip }), details: { code: (error as { code?: string }).code ?? 'error' } });
      throw error;
    }
  });

  router.post('/auth/code', async (req, res) => {
    const { code } = parseOr400(codeBody, req.body, 'body');
    let identity;
    let user;
    try {
      identity = loginCodes.redeem(code);
      user = users.current(identity.userId);
    } catch (error) {
      // Never the code itself: it is a credential.
      logger.warn({ ip: req.ip, code: (error as { code?: string }).code }, 'sign-in with a login code refused');
      await auth.audit.record({ action: 'auth.login_failed', ...(req.ip && { ip: req.ip }), details: { with: 'login code', code: (error as { code?: string }).code ?? 'error' } });
      throw error;
    }
    logger.info({ user: user.username }, 'signed in with a login code');
    await auth.audit.record({ action: 'auth.login', userId: user.id, username: user.username, ...(req.ip && { ip: req.ip }), details: { with: 'login code' } });
    res.json(tokens.issue({ ...identity, role: user.role }));
  });

  // Sign-out: the session of this token (every token of that sign-in) is refused from now on,
  // and its open sockets end.
  router.post('/auth/logout', requireRole(auth), async (req, res) => {
    auth.tokens.revoke(req.identity!);
    logger.info({ user: req.user!.username, ip: req.ip }, 'signed out');
    await auditFor(auth, req, { action: 'auth.logout' });
    res.status(204).end();
  });

  router.get('/me', requireRole(auth), (req, res) => {
    res.json(users.view(req.user!));
  });

  const admin = requireRole(auth, 'admin');
  router.get('/users', admin, (_req, res) => {
    res.json({ items: users.list().map((user) => users.view(user)) });
  });
  router.post('/users', admin, async (req, res) => {
    const user = await users.createUser(parseOr400(userCreateSchema, req.body, 'body'));
    await auditFor(auth, req, { action: 'user.create', details: { after: users.view(user) } });
    res.status(201).json(users.view(user));
  });
  router.get('/users/:id', admin, (req, res) => {
    res.json(users.view(users.get(parseOr400(idParam, req.params, 'path').id)));
  });
  router.patch('/users/:id', admin, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const patch = parseOr400(userPatchSchema, req.body, 'body');
    const before = users.view(users.get(id));
    const after = users.view(await users.updateUser(id, patch));
    await auditFor(auth, req, { action: 'user.update', details: { before, after } });
    res.json(after);
  });
  router.post('/users/:id/password', admin, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const { password } = parseOr400(passwordResetSchema, req.body, 'body');
    const user = await users.resetPassword(id, password);
    await auditFor(auth, req, { action: 'user.password_reset', details: { user: user.username } });
    res.json(users.view(user));
  });
  return router;
}
