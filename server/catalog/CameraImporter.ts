import { readCsvRecords } from '../util/readCsvRecords.ts';
import { z } from 'zod';
import { AppError } from '../errors/AppError.ts';
import type { CameraCatalog } from './CameraCatalog.ts';
import { cameraCreateSchema, type CameraCreate } from './cameraSchemas.ts';
import { normaliseRtspUrl } from './rtspUrl.ts';
import { checkTlsFingerprintUrl } from './tlsFingerprint.ts';
import type { CameraRecord } from './CameraRecord.ts';

/**
 * CSV columns (header row required; order free). `tags` is `;`-separated; `tls_fingerprint` is the
 * camera's tlsFingerprint (rtsps cameras: SHA-256 of its certificate, hex with or without colons);
 * `engine` is auto (empty: auto), relay or ffmpeg.
 */
export const csvColumns = [
  'code', 'name', 'area', 'owner_kind', 'owner_name', 'owner_contact', 'agreement_ref', 'enrolled_by',
  'category', 'municipality', 'lat', 'lng', 'main_url', 'substream_url', 'username', 'password',
  'transport', 'sharing', 'always_on', 'tags', 'tls_fingerprint', 'engine',
] as const;

export interface ImportOptions {
  /** Existing cameras with a different record are updated instead of reported. */
  update: boolean;
  /** New cameras are registered approved (a migration of an already-vetted registry). */
  approve: boolean;
}

export interface ImportRowError {
  /** CSV: the line in the file; JSON: the item's position, from 1. */
  line: number;
  code?: string;
  reason: string;
}

export interface ImportReport {
  rows: number;
  created: number;
  updated: number;
  /** Already registered with the same record: re-sending a file changes nothing. */
  unchanged: number;
  errors: ImportRowError[];
}

interface Row {
  line: number;
  input: unknown;
}

const BATCH = 200;

/** Bulk registration from CSV or JSON: stores the good rows, reports every bad one with its line. */
export class CameraImporter {
  constructor(private readonly catalog: CameraCatalog) {}

  rowsFromCsv(text: string): Row[] {
    return readCsvRecords(text, csvColumns).map(({ line, record }) => ({ line, input: fromCsvRecord(record) }));
  }

  rowsFromJson(items: unknown[]): Row[] {
    return items.map((input, index) => ({ line: index + 1, input }));
  }

  async run(rows: Row[], options: ImportOptions): Promise<ImportReport> {
    const report: ImportReport = { rows: rows.length, created: 0, updated: 0, unchanged: 0, errors: [] };
    const seen = new Map<string, number>();
    const valid: Array<{ line: number; camera: CameraCreate }> = [];
    for (const row of rows) {
      const parsed = cameraCreateSchema.safeParse(row.input);
      const code = typeof (row.input as { code?: unknown })?.code === 'string' ? (row.input as { code: string }).code : undefined;
      if (!parsed.success) {
        report.errors.push({ line: row.line, ...(code && { code }), reason: describe(parsed.error) });
        continue;
      }
      const camera = parsed.data;
      try {
        normaliseRtspUrl(camera.mainUrl, 'mainUrl', camera.credentials);
        if (camera.substreamUrl) normaliseRtspUrl(camera.substreamUrl, 'substreamUrl', camera.credentials);
        checkTlsFingerprintUrl(camera.mainUrl, camera.tlsFingerprint);
      } catch (error) {
        report.errors.push({ line: row.line, code: camera.code, reason: (error as Error).message });
        continue;
      }
      const earlier = seen.get(camera.code);
      if (earlier !== undefined) {
        report.errors.push({ line: row.line, code: camera.code, reason: `code ${camera.code} appears twice in this file (first on line ${earlier})` });
        continue;
      }
      seen.set(camera.code, row.line);
      valid.push({ line: row.line, camera });
    }
    for (let i = 0; i < valid.length; i += BATCH) {
      const batch = valid.slice(i, i + BATCH);
      const existing = new Map((await this.catalog.repository.findByCodes(batch.map((r) => r.camera.code))).map((c) => [c.code, c]));
      await Promise.all(batch.map((row) => this.#apply(row, existing.get(row.camera.code), options, report)));
    }
    report.errors.sort((a, b) => a.line - b.line);
    return report;
  }

  async #apply(row: { line: number; camera: CameraCreate }, existing: CameraRecord | undefined, options: ImportOptions, report: ImportReport): Promise<void> {
    const { camera } = row;
    try {
      if (!existing) {
        await this.catalog.create(camera, options.approve ? { status: 'approved' } : {});
        report.created++;
        return;
      }
      if (existing.retiredAt || existing.status === 'revoked') {
        throw new AppError('conflict', `code ${camera.code} belonged to a ${existing.retiredAt ? 'retired' : 'revoked'} camera and is never reused`);
      }
      if (this.catalog.sameAs(existing, camera)) {
        report.unchanged++;
        return;
      }
      if (!options.update) throw new AppError('conflict', `code ${camera.code} is already registered with a different record (send update=true to update it)`);
      const { code: _code, area, ...changes } = camera;
      if (area !== existing.area) throw new AppError('unprocessable', `code ${camera.code}: the area of a registered camera cannot change`);
      await this.catalog.update(existing.id, { ...changes, location: changes.location ?? null, substreamUrl: changes.substreamUrl ?? null, credentials: changes.credentials ?? null, tlsFingerprint: changes.tlsFingerprint ?? null, engine: changes.engine ?? 'auto' });
      report.updated++;
    } catch (error) {
      report.errors.push({ line: row.line, code: camera.code, reason: error instanceof AppError ? error.message : 'could not be stored' });
    }
  }
}

function fromCsvRecord(record: Record<string, string>): Record<string, unknown> {
  const value = (key: string): string | undefined => (record[key] === undefined || record[key] === '' ? undefined : record[key]);
  const number = (key: string): number | string | undefined => {
    const raw = value(key);
    if (raw === undefined) return undefined;
    return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  };
  const lat = number('lat');
  const lng = number('lng');
  const alwaysOn = value('always_on');
  const username = value('username');
  const owner = {
    kind: value('owner_kind'),
    name: value('owner_name'),
    ...(value('owner_contact') && { contact: value('owner_contact') }),
    ...(value('agreement_ref') && { agreementRef: value('agreement_ref') }),
    ...(value('enrolled_by') && { enrolledBy: value('enrolled_by') }),
  };
  return {
    code: value('code'),
    name: value('name'),
    area: value('area'),
    owner,
    category: value('category'),
    municipality: value('municipality'),
    ...((lat !== undefined || lng !== undefined) && { location: { lat, lng } }),
    mainUrl: value('main_url'),
    ...(value('substream_url') && { substreamUrl: value('substream_url') }),
    ...(username && { credentials: { username, ...(value('password') && { password: value('password') }) } }),
    ...(value('transport') && { transport: value('transport') }),
    ...(value('engine') && { engine: value('engine') }),
    ...(value('tls_fingerprint') && { tlsFingerprint: value('tls_fingerprint') }),
    ...(value('sharing') && { sharing: value('sharing') }),
    ...(alwaysOn !== undefined && { alwaysOn: ['true', '1', 'yes'].includes(alwaysOn.toLowerCase()) ? true : ['false', '0', 'no'].includes(alwaysOn.toLowerCase()) ? false : alwaysOn }),
    ...(value('tags') && { tags: value('tags')!.split(';').map((tag) => tag.trim()).filter(Boolean) }),
  };
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 4)
    .map((issue) => `${issue.path.map(String).join('.') || 'row'}: ${issue.message}`)
    .join('; ');
}
