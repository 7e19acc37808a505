import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../logging/createLogger.ts';
import { AppError } from '../errors/AppError.ts';
import type { LoginCodes } from '../auth/LoginCodes.ts';
import type { TokenService } from '../auth/TokenService.ts';
import type { CameraCatalog } from '../catalog/CameraCatalog.ts';
import { cameraImportRoute, cameraRoutes } from './cameraRoutes.ts';
import { openApiDocument } from './openapi.ts';
import { userRoutes } from './userRoutes.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import type { UserService } from '../users/UserService.ts';
import type { AuditLog } from '../audit/AuditLog.ts';
import { auditRoutes } from './auditRoutes.ts';
import { incidentRoutes } from './incidentRoutes.ts';
import type { IncidentService } from '../incidents/IncidentService.ts';
import type { AlarmService } from '../alarms/AlarmService.ts';
import type { AlarmDeviceService } from '../alarms/AlarmDeviceService.ts';
import type { AlarmIntake } from '../alarms/AlarmIntake.ts';
import { alarmDeviceImportRoute, alarmIntakeRoute, alarmRoutes } from './alarmRoutes.ts';
import type { EnrolmentService } from '../enrolment/EnrolmentService.ts';
import { enrolmentPublicRoutes, enrolmentReviewRoutes } from './enrolmentRoutes.ts';
import { join } from 'node:path';

export interface HttpDeps {
  logger: Logger;
  tokens: TokenService;
  loginCodes: LoginCodes;
  catalog: CameraCatalog;
  users: UserService;
  audit: AuditLog;
  incidents: IncidentService;
  alarms: AlarmService;
  alarmDevices: AlarmDeviceService;
  alarmIntake: AlarmIntake;
  /** The citizen program (public /enrol page and its endpoints, the admins' review); absent: disabled. */
  enrolments?: EnrolmentService;
  /** Directory of the built console (index.html, app.js, styles.css). */
  clientDir: string;
  /** Readiness: the media workers are up, the catalog answers, the server is not shutting down. */
  ready(): Promise<boolean>;
  metrics: Metrics;
  trustProxy: string;
}

export function createExpressApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });
  const auth = { tokens: deps.tokens, users: deps.users, audit: deps.audit };
  // Before every route, the imports and the alarm intake included.
  app.use((req, res, next) => {
    const end = deps.metrics.httpDuration.startTimer();
    res.once('finish', () => {
      // The matched route pattern, never the raw path: label values stay few.
      const route = (req.route as { path?: string } | undefined)?.path;
      end({ method: req.method, route: route ? `${req.baseUrl}${route}` : req.path.startsWith('/api') ? 'unmatched' : 'static', status: String(res.statusCode) });
    });
    next();
  });
  app.use('/api/cameras/import', cameraImportRoute(deps.catalog, auth));
  // The signature covers the body's exact bytes: read raw, before the JSON parser.
  app.post('/api/alarms', ...alarmIntakeRoute(deps.alarmIntake, deps.alarms));
  app.use('/api/alarm-devices/import', alarmDeviceImportRoute(deps.alarmDevices, auth));
  app.use('/api', express.json({ limit: '100kb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready' });
  });

  app.use('/api', userRoutes(auth, deps.loginCodes, deps.logger));
  app.use('/api/cameras', cameraRoutes(deps.catalog, auth, deps.incidents));
  app.use('/api/audit', auditRoutes(deps.audit, auth));
  app.use('/api', incidentRoutes(deps.incidents, auth));
  app.use('/api', alarmRoutes(deps.alarms, deps.alarmDevices, auth));
  if (deps.enrolments) {
    app.use('/api/enrolment', enrolmentPublicRoutes(deps.enrolments));
    app.use('/api/enrolments', enrolmentReviewRoutes(deps.enrolments, auth));
    // The public page: its own strict policy (nothing but this origin; geolocation from this page only).
    const enrolPage = join(deps.clientDir, 'enrol.html');
    app.get(['/enrol', '/enrol/status'], (_req, res) => {
      res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
      res.setHeader('Permissions-Policy', 'geolocation=(self), camera=(), microphone=()');
      res.setHeader('Cache-Control', 'no-store');
      res.sendFile(enrolPage);
    });
  }
  const openapi = openApiDocument();
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  app.use('/api', (_req, _res, next) => next(new AppError('not_found', 'no such API endpoint')));
  app.use(express.static(deps.clientDir, { index: 'index.html', maxAge: 0 }));

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    let appError: AppError;
    if (error instanceof AppError) appError = error;
    else if ((error as { type?: string }).type === 'entity.parse.failed') appError = new AppError('invalid_request', 'the body is not valid JSON');
    else if ((error as { type?: string }).type === 'entity.too.large') appError = new AppError('payload_too_large', 'the body is too large');
    else if (clientErrorStatus(error) === 413) appError = new AppError('payload_too_large', 'the request is too large');
    else if (clientErrorStatus(error) !== undefined) {
      // body-parser (unsupported encoding or charset, aborted body) and the router (a path parameter
      // that is not valid percent-encoding) throw http-errors with a 4xx status: the client's fault.
      appError = new AppError('invalid_request', 'the request could not be read (encoding, charset or path)');
    } else {
      deps.logger.error({ err: error }, 'unexpected HTTP error');
      appError = new AppError('internal', 'internal error');
    }
    const retryAfter = appError.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
    res.status(appError.status).json({ error: appError.toJSON() });
  });
  return app;
}

/** The 4xx status of an http-errors error (body-parser, router), if it is one. */
function clientErrorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
