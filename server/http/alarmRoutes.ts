import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError } from '../errors/AppError.ts';
import type { AlarmIntake } from '../alarms/AlarmIntake.ts';
import type { AlarmService } from '../alarms/AlarmService.ts';
import type { AlarmDeviceService } from '../alarms/AlarmDeviceService.ts';
import { AlarmDeviceImporter } from '../alarms/AlarmDeviceImporter.ts';
import { alarmCloseSchema, alarmIntakeSchema, alarmQuerySchema, deviceCreateSchema, devicePatchSchema, deviceQuerySchema, rotateKeySchema } from '../alarms/alarmSchemas.ts';
import { idParam } from '../incidents/incidentSchemas.ts';
import { parseOr400 } from './parseOr400.ts';
import { auditFor, requireRole, type Authenticator } from './requireRole.ts';

/** The largest alarm a device may send (bytes). */
const INTAKE_LIMIT = '8kb';

/**
 * POST /api/alarms: the signed intake of alarm devices (no user token; see AlarmSignature). Mounted
 * before the API's JSON parser: the signature covers the body's exact bytes. Answers 201 with the
 * alarm opened, 200 when the press joined an alarm still open, for a heartbeat, or for a device in
 * test mode; refusals as AlarmIntake says.
 */
export function alarmIntakeRoute(intake: AlarmIntake, alarms: AlarmService): express.RequestHandler[] {
  return [
    // inflate: false: the signature covers the bytes as sent, so an encoded (gzip) body is refused (400), not decoded.
    express.raw({ type: () => true, limit: INTAKE_LIMIT, inflate: false }),
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const source = req.ip ?? req.socket.remoteAddress ?? 'unknown';
      const { device, release } = await intake.authenticate({ source, method: req.method, path: req.originalUrl.split('?')[0] ?? '/api/alarms', headers: req.headers, body });
      let result;
      try {
        let json: unknown = {};
        if (body.length > 0) {
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            throw new AppError('invalid_request', 'the body is not valid JSON');
          }
        }
        const input = parseOr400(alarmIntakeSchema, json, 'body');
        result = await alarms.press(device, { body: input, source: 'http', ip: source });
      } catch (error) {
        // Not taken: the same signed request may come again (a device retrying after a failure).
        release();
        throw error;
      }
      if (result.outcome === 'heartbeat') {
        res.json({ outcome: 'heartbeat' });
      } else if (result.outcome === 'test') {
        res.json({ outcome: 'test', cameras: result.cameras.length, linked: result.cameras.filter((camera) => camera.linked).length });
      } else {
        res.status(result.outcome === 'opened' ? 201 : 200).json({ outcome: result.outcome, alarmId: result.alarm.id, incidentId: result.alarm.incidentId, presses: result.alarm.presses, cameras: result.alarm.cameras.length });
      }
    },
  ];
}

/** Operators' and admins' alarm routes (list, get, acknowledge, close) and admins' device routes. */
export function alarmRoutes(alarms: AlarmService, devices: AlarmDeviceService, auth: Authenticator): Router {
  const router = Router();
  const handlers = requireRole(auth, 'operator', 'admin');
  const admin = requireRole(auth, 'admin');

  router.get('/alarms', handlers, async (req, res) => {
    const query = parseOr400(alarmQuerySchema, req.query, 'query');
    const page = await alarms.list(req.user!, { ...(query.status && { status: query.status }), offset: query.offset, limit: query.limit });
    res.json({ ...page, offset: query.offset, limit: query.limit });
  });

  router.get('/alarms/:id', handlers, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    res.json(await alarms.get(req.user!, id));
  });

  router.post('/alarms/:id/acknowledge', handlers, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    parseOr400(z.strictObject({}), req.body ?? {}, 'body');
    res.json(await alarms.acknowledge(req.user!, id));
  });

  router.post('/alarms/:id/close', handlers, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const closing = parseOr400(alarmCloseSchema, req.body, 'body');
    res.json(await alarms.closeAlarm(req.user!, id, { disposition: closing.disposition, ...(closing.note && { note: closing.note }) }));
  });

  router.get('/alarm-devices', admin, async (req, res) => {
    const query = parseOr400(deviceQuerySchema, req.query, 'query');
    const page = await devices.list(query);
    res.json({ items: page.items.map((device) => devices.view(device)), total: page.total, offset: query.offset, limit: query.limit });
  });

  router.post('/alarm-devices', admin, async (req, res) => {
    const input = parseOr400(deviceCreateSchema, req.body, 'body');
    const { device, httpKey, dc09Key } = await devices.create(req.user!, input);
    res.status(201).json({ device: devices.view(device), httpKey, ...(dc09Key && { dc09Key }) });
  });

  router.get('/alarm-devices/:id', admin, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    res.json(devices.view(await devices.get(id)));
  });

  router.patch('/alarm-devices/:id', admin, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const patch = parseOr400(devicePatchSchema, req.body, 'body');
    const { issuedDc09Key, ...device } = await devices.update(req.user!, id, patch);
    res.json({ ...devices.view(device), ...(issuedDc09Key && { dc09Key: issuedDc09Key }) });
  });

  router.post('/alarm-devices/:id/rotate-key', admin, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const { which } = parseOr400(rotateKeySchema, req.body ?? {}, 'body');
    const { device, httpKey, dc09Key } = await devices.rotateKey(req.user!, id, which);
    res.json({ device: devices.view(device), ...(httpKey && { httpKey }), ...(dc09Key && { dc09Key }) });
  });

  return router;
}

/** POST /api/alarm-devices/import: CSV (text/csv, header row) or JSON (an array of devices, or `{ devices: [...] }`). */
export function alarmDeviceImportRoute(devices: AlarmDeviceService, auth: Authenticator): Router {
  const router = Router();
  const importer = new AlarmDeviceImporter(devices);
  router.post('/', requireRole(auth, 'admin'), express.json({ limit: '5mb' }), express.text({ type: ['text/csv', 'application/csv'], limit: '5mb' }), async (req: Request, res) => {
    let rows;
    if (typeof req.body === 'string') rows = importer.rowsFromCsv(req.body);
    else if (Array.isArray(req.body)) rows = importer.rowsFromJson(req.body);
    else if (req.body && Array.isArray((req.body as { devices?: unknown }).devices)) rows = importer.rowsFromJson((req.body as { devices: unknown[] }).devices);
    else throw new AppError('invalid_request', 'send text/csv, or application/json with an array of devices');
    if (rows.length > 10_000) throw new AppError('invalid_request', 'at most 10,000 devices per import');
    const report = await importer.run(req.user!, rows);
    await auditFor(auth, req, { action: 'alarm_device.import', details: { rows: report.rows, created: report.created, unchanged: report.unchanged, errors: report.errors.length } });
    res.json(report);
  });
  return router;
}
