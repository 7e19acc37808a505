import type { CameraRepository } from '../catalog/CameraRepository.ts';
import type { UserRepository } from '../users/UserRepository.ts';
import type { AuditRepository } from '../audit/AuditRepository.ts';
import type { IncidentRepository } from '../incidents/IncidentRepository.ts';
import type { GrantRepository } from '../incidents/GrantRepository.ts';
import type { AlarmDeviceRepository } from '../alarms/AlarmDeviceRepository.ts';
import type { AlarmRepository } from '../alarms/AlarmRepository.ts';
import type { EnrolmentRepository } from '../enrolment/EnrolmentRepository.ts';

/**
 * Where everything the server keeps is stored: one adapter per backend (embedded files, or
 * MongoDB), opened and closed by the composition root. The repositories are the store's: close
 * the store, never a repository.
 */
export interface Store {
  readonly kind: 'embedded' | 'mongo';
  readonly cameras: CameraRepository;
  readonly users: UserRepository;
  readonly audit: AuditRepository;
  readonly incidents: IncidentRepository;
  readonly grants: GrantRepository;
  readonly alarmDevices: AlarmDeviceRepository;
  readonly alarms: AlarmRepository;
  readonly enrolments: EnrolmentRepository;
  /** Resolves when the store answers a trivial query (readiness), rejects otherwise. */
  ping(): Promise<void>;
  /** Closes every repository, then the backend. Idempotent. */
  close(): Promise<void>;
}

/** Runs every close in order, each whatever the others did; rejects with the first failure once all ran. */
export async function closeAll(closes: Array<() => Promise<unknown>>): Promise<void> {
  const failures: unknown[] = [];
  for (const close of closes) {
    try {
      await close();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}
