import { readCsvRecords } from '../util/readCsvRecords.ts';
import { AppError } from '../errors/AppError.ts';
import type { UserRecord } from '../users/UserRecord.ts';
import type { AlarmDeviceService } from './AlarmDeviceService.ts';
import type { AlarmDeviceRecord } from './AlarmRecord.ts';
import { deviceCreateSchema, type DeviceCreate } from './alarmSchemas.ts';

/**
 * CSV columns of a device import (header row required, order free). `cameras` is `;`-separated
 * camera codes; `supervision_interval_s` empty means not supervised; `status` is active (default) or test;
 * `dc09_account` (3-16 hex digits) makes the device a SIA DC-09 panel, with `dc09_encryption` (aes128
 * default, aes192, aes256, none) and `dc09_encryption_required` (true/false; default true unless none).
 */
export const deviceCsvColumns = [
  'code', 'name', 'kind', 'owner_name', 'owner_phone', 'owner_email', 'lat', 'lng', 'address',
  'area', 'municipality', 'cameras', 'supervision_interval_s', 'status', 'dc09_account', 'dc09_encryption', 'dc09_encryption_required',
] as const;

export interface DeviceImportReport {
  rows: number;
  created: number;
  /** Already registered with the same record: sending a file again changes nothing (and issues no key). */
  unchanged: number;
  errors: Array<{ line: number; code?: string; reason: string }>;
  /** The keys of the devices created, shown once (dc09Key: panels with DC-09 encryption). */
  keys: Array<{ code: string; httpKey: string; dc09Key?: string }>;
}

interface Row {
  line: number;
  input: unknown;
}

/** Bulk registration of alarm devices from CSV or JSON: registers the good rows, reports each bad one with its line. */
export class AlarmDeviceImporter {
  constructor(private readonly devices: AlarmDeviceService) {}

  rowsFromCsv(text: string): Row[] {
    return readCsvRecords(text, deviceCsvColumns).map(({ line, record }) => ({ line, input: fromCsv(record) }));
  }

  rowsFromJson(items: unknown[]): Row[] {
    return items.map((input, index) => ({ line: index + 1, input }));
  }

  async run(actor: UserRecord | undefined, rows: Row[]): Promise<DeviceImportReport> {
    const report: DeviceImportReport = { rows: rows.length, created: 0, unchanged: 0, errors: [], keys: [] };
    const seen = new Set<string>();
    for (const row of rows) {
      const parsed = deviceCreateSchema.safeParse(row.input);
      const code = typeof (row.input as { code?: unknown } | null)?.code === 'string' ? (row.input as { code: string }).code : undefined;
      if (!parsed.success) {
        report.errors.push({ line: row.line, ...(code && { code }), reason: parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.map(String).join('.') || 'row'}: ${issue.message}`).join('; ') });
        continue;
      }
      if (seen.has(parsed.data.code)) {
        report.errors.push({ line: row.line, code: parsed.data.code, reason: 'the code appears twice in this import' });
        continue;
      }
      seen.add(parsed.data.code);
      const existing = await this.devices.repository.findByCode(parsed.data.code);
      if (existing) {
        if (sameDevice(existing, parsed.data)) report.unchanged++;
        else report.errors.push({ line: row.line, code: parsed.data.code, reason: 'a different device has this code (change it with PATCH /api/alarm-devices/{id})' });
        continue;
      }
      try {
        const { httpKey, dc09Key } = await this.devices.create(actor, parsed.data, 'import');
        report.created++;
        report.keys.push({ code: parsed.data.code, httpKey, ...(dc09Key && { dc09Key }) });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        report.errors.push({ line: row.line, code: parsed.data.code, reason: error.message });
      }
    }
    return report;
  }
}

function fromCsv(record: Record<string, string>): Record<string, unknown> {
  const value = (name: string) => (record[name] === undefined || record[name] === '' ? undefined : record[name]);
  const number = (name: string) => (value(name) === undefined ? undefined : Number(value(name)));
  return {
    code: value('code'),
    name: value('name'),
    kind: value('kind'),
    owner: { name: value('owner_name'), ...(value('owner_phone') && { phone: value('owner_phone') }), ...(value('owner_email') && { email: value('owner_email') }) },
    location: { lat: number('lat'), lng: number('lng') },
    ...(value('address') && { address: value('address') }),
    area: value('area'),
    municipality: value('municipality'),
    cameras: (value('cameras') ?? '').split(';').map((code) => code.trim()).filter(Boolean),
    ...(value('supervision_interval_s') && { supervisionIntervalS: number('supervision_interval_s') }),
    ...(value('status') && { status: value('status') }),
    ...(value('dc09_account') && {
      dc09: {
        account: value('dc09_account'),
        ...(value('dc09_encryption') && { encryption: value('dc09_encryption') }),
        ...(value('dc09_encryption_required') && { encryptionRequired: value('dc09_encryption_required') === 'true' ? true : value('dc09_encryption_required') === 'false' ? false : value('dc09_encryption_required') }),
      },
    }),
  };
}

function sameDevice(existing: AlarmDeviceRecord, input: DeviceCreate): boolean {
  const comparable = (device: Pick<AlarmDeviceRecord, 'status' | 'name' | 'kind' | 'owner' | 'location' | 'address' | 'area' | 'municipality' | 'cameras' | 'supervisionIntervalS'>, dc09: { account: string; encryption: string } | undefined) =>
    JSON.stringify([device.status, device.name, device.kind, device.owner.name, device.owner.phone ?? null, device.owner.email ?? null, device.location.lat, device.location.lng, device.address ?? null, device.area, device.municipality, [...device.cameras].sort(), device.supervisionIntervalS ?? null, dc09?.account ?? null, dc09?.encryption ?? null]);
  return comparable(existing, existing.dc09) === comparable(input, input.dc09);
}
