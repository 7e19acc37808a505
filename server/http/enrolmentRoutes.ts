import { Router, type Request, type Response } from 'express';
import { AppError } from '../errors/AppError.ts';
import type { Actor, EnrolmentService } from '../enrolment/EnrolmentService.ts';
import {
  agreementQuerySchema,
  enrolmentSubmitSchema,
  ownerChangeSchema,
  ownerWithdrawalSchema,
  referenceParamSchema,
  reviewApprovalSchema,
  reviewQuerySchema,
  reviewRejectionSchema,
  statusTokenHeader,
} from '../enrolment/enrolmentSchemas.ts';
import { parseOr400 } from './parseOr400.ts';
import { requireRole, type Authenticator } from './requireRole.ts';

/** The client's address as Express derives it under `http.trustProxy` (X-Forwarded-For only from a trusted proxy). */
function sourceOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

function publicActor(req: Request): Actor {
  return { ip: sourceOf(req) };
}

function adminActor(req: Request): Actor {
  return { ...(req.user && { userId: req.user.id, username: req.user.username }), ip: sourceOf(req) };
}

/** Status-link answers hold personal choices: never cached, never sent on as a Referer. */
function private_(res: Response): Response {
  return res.setHeader('Cache-Control', 'no-store');
}

/**
 * The citizen program's public endpoints (no account; issue 26), under /api/enrolment: the
 * agreement, a submission, and the owner's status link (token in the X-Status-Token header, never
 * in a URL). Limited per client address (and per contact for submissions); see enrolmentSchemas.ts.
 */
export function enrolmentPublicRoutes(enrolments: EnrolmentService): Router {
  const router = Router();

  router.get('/agreement', (req, res) => {
    const { lang } = parseOr400(agreementQuerySchema, req.query, 'query');
    res.json(enrolments.agreement(lang));
  });

  router.post('/', async (req, res) => {
    // Counted before the body is read: a stranger's malformed attempts count too.
    await enrolments.limits.submissionFrom(sourceOf(req));
    const input = parseOr400(enrolmentSubmitSchema, req.body, 'body');
    const receipt = await enrolments.submit(input, publicActor(req));
    private_(res).status(201).json(receipt);
  });

  router.get('/status', async (req, res) => {
    await enrolments.limits.statusFrom(sourceOf(req));
    private_(res).json(await enrolments.ownerStatus(req.get(statusTokenHeader)));
  });

  router.patch('/status', async (req, res) => {
    await enrolments.limits.statusFrom(sourceOf(req));
    const change = parseOr400(ownerChangeSchema, req.body, 'body');
    private_(res).json(await enrolments.ownerChange(req.get(statusTokenHeader), change, publicActor(req)));
  });

  router.post('/withdraw', async (req, res) => {
    await enrolments.limits.statusFrom(sourceOf(req));
    const { reason } = parseOr400(ownerWithdrawalSchema, req.body ?? {}, 'body');
    private_(res).json(await enrolments.withdraw(req.get(statusTokenHeader), reason, publicActor(req)));
  });

  return router;
}

/** The admins' review queue of citizen enrolments, under /api/enrolments. */
export function enrolmentReviewRoutes(enrolments: EnrolmentService, auth: Authenticator): Router {
  const router = Router();
  const admin = requireRole(auth, 'admin');

  router.get('/', admin, async (req, res) => {
    const query = parseOr400(reviewQuerySchema, req.query, 'query');
    const { items, total } = await enrolments.reviewList(query);
    private_(res).json({ items, total, offset: query.offset, limit: query.limit });
  });

  router.get('/:reference', admin, async (req, res) => {
    const { reference } = parseOr400(referenceParamSchema, req.params, 'path');
    private_(res).json(await enrolments.reviewItem(reference));
  });

  router.post('/:reference/approve', admin, async (req, res) => {
    const { reference } = parseOr400(referenceParamSchema, req.params, 'path');
    const { municipality, url } = parseOr400(reviewApprovalSchema, req.body, 'body');
    private_(res).json(await enrolments.approve(reference, municipality, adminActor(req), url));
  });

  router.post('/:reference/reject', admin, async (req, res) => {
    const { reference } = parseOr400(referenceParamSchema, req.params, 'path');
    const { reason } = parseOr400(reviewRejectionSchema, req.body, 'body');
    private_(res).json(await enrolments.reject(reference, reason, adminActor(req)));
  });

  router.post('/:reference/check', admin, async (req, res) => {
    const { reference } = parseOr400(referenceParamSchema, req.params, 'path');
    private_(res).json(await enrolments.recheck(reference, adminActor(req)));
  });

  router.post('/:reference/status-link', admin, async (req, res) => {
    const { reference } = parseOr400(referenceParamSchema, req.params, 'path');
    private_(res).json(await enrolments.reissueLink(reference, adminActor(req)));
  });

  router.use((_req, _res, next) => next(new AppError('not_found', 'no such enrolment endpoint')));
  return router;
}
