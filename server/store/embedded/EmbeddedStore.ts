import { join } from 'node:path';
import { closeAll, type Store } from '../Store.ts';
import { EmbeddedCameraRepository } from './EmbeddedCameraRepository.ts';
import { EmbeddedUserRepository } from './EmbeddedUserRepository.ts';
import { FileAuditRepository } from './FileAuditRepository.ts';
import { EmbeddedIncidentRepository } from './EmbeddedIncidentRepository.ts';
import { EmbeddedGrantRepository } from './EmbeddedGrantRepository.ts';
import { EmbeddedAlarmDeviceRepository } from './EmbeddedAlarmDeviceRepository.ts';
import { EmbeddedAlarmRepository } from './EmbeddedAlarmRepository.ts';
import { EmbeddedEnrolmentRepository } from './EmbeddedEnrolmentRepository.ts';

/**
 * The store when no MongoDB is configured: nedb files for cameras, users, incidents, grants, alarm
 * devices, alarms and citizen enrolments, a JSON-lines file for the audit trail, all under the data directory:
 *   <dataDir>/catalog/{cameras,users,incidents,grants,alarm-devices,alarms,enrolments}.db, <dataDir>/audit/audit.jsonl
 */
export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly cameras: EmbeddedCameraRepository,
    readonly users: EmbeddedUserRepository,
    readonly audit: FileAuditRepository,
    readonly incidents: EmbeddedIncidentRepository,
    readonly grants: EmbeddedGrantRepository,
    readonly alarmDevices: EmbeddedAlarmDeviceRepository,
    readonly alarms: EmbeddedAlarmRepository,
    readonly enrolments: EmbeddedEnrolmentRepository,
  ) {}

  static async open(dataDir: string): Promise<EmbeddedStore> {
    const opened: Array<{ close(): Promise<void> }> = [];
    const open = async <R extends { close(): Promise<void> }>(repository: Promise<R>): Promise<R> => {
      const ready = await repository;
      opened.push(ready);
      return ready;
    };
    try {
      const cameras = await open(EmbeddedCameraRepository.open(join(dataDir, 'catalog', 'cameras.db')));
      const users = await open(EmbeddedUserRepository.open(join(dataDir, 'catalog', 'users.db')));
      const incidents = await open(EmbeddedIncidentRepository.open(join(dataDir, 'catalog', 'incidents.db')));
      const grants = await open(EmbeddedGrantRepository.open(join(dataDir, 'catalog', 'grants.db')));
      const alarmDevices = await open(EmbeddedAlarmDeviceRepository.open(join(dataDir, 'catalog', 'alarm-devices.db')));
      const alarms = await open(EmbeddedAlarmRepository.open(join(dataDir, 'catalog', 'alarms.db')));
      const enrolments = await open(EmbeddedEnrolmentRepository.open(join(dataDir, 'catalog', 'enrolments.db')));
      return new EmbeddedStore(cameras, users, new FileAuditRepository(join(dataDir, 'audit', 'audit.jsonl')), incidents, grants, alarmDevices, alarms, enrolments);
    } catch (error) {
      await closeAll(opened.reverse().map((repository) => () => repository.close()));
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.cameras.count({ codes: [] });
  }

  close(): Promise<void> {
    // Every part is closed even when another fails; the first failure is reported after.
    this.#closing ??= closeAll([
      () => this.audit.close(),
      () => this.enrolments.close(),
      () => this.alarms.close(),
      () => this.alarmDevices.close(),
      () => this.grants.close(),
      () => this.incidents.close(),
      () => this.users.close(),
      () => this.cameras.close(),
    ]);
    return this.#closing;
  }
}
