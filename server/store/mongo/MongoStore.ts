import mongoose from 'mongoose';
import type { Connection } from 'mongoose';
import { closeAll, type Store } from '../Store.ts';
import { MongoCameraRepository } from './MongoCameraRepository.ts';
import { MongoUserRepository } from './MongoUserRepository.ts';
import { MongoAuditRepository } from './MongoAuditRepository.ts';
import { MongoIncidentRepository } from './MongoIncidentRepository.ts';
import { MongoGrantRepository } from './MongoGrantRepository.ts';
import { MongoAlarmDeviceRepository } from './MongoAlarmDeviceRepository.ts';
import { MongoAlarmRepository } from './MongoAlarmRepository.ts';
import { MongoEnrolmentRepository } from './MongoEnrolmentRepository.ts';

export interface MongoStoreOptions {
  /** Database name; default: the one in the URI (or mongoose's default). */
  dbName?: string;
  /** Collection of the cameras; default `cameras` (tests use their own). */
  camerasCollection?: string;
  /** Fails the open after this long without a server (ms); default 5000. */
  serverSelectionTimeoutMs?: number;
}

/**
 * The store in MongoDB (`MONGODB_URI`): the process's one mongoose connection, from which every
 * repository takes its collections. Opened and closed by the composition root.
 */
export class MongoStore implements Store {
  readonly kind = 'mongo' as const;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly connection: Connection,
    readonly cameras: MongoCameraRepository,
    readonly users: MongoUserRepository,
    readonly audit: MongoAuditRepository,
    readonly incidents: MongoIncidentRepository,
    readonly grants: MongoGrantRepository,
    readonly alarmDevices: MongoAlarmDeviceRepository,
    readonly alarms: MongoAlarmRepository,
    readonly enrolments: MongoEnrolmentRepository,
  ) {}

  /** Connects and creates every collection's indexes; throws the driver's error when no server answers. */
  static async open(uri: string, options: MongoStoreOptions = {}): Promise<MongoStore> {
    const connection = mongoose.createConnection(uri, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5000,
      ...(options.dbName !== undefined && { dbName: options.dbName }),
    });
    try {
      await connection.asPromise();
      const cameras = await MongoCameraRepository.create(connection, { ...(options.camerasCollection && { collection: options.camerasCollection }) });
      const users = await MongoUserRepository.create(connection);
      const audit = await MongoAuditRepository.create(connection);
      const incidents = await MongoIncidentRepository.create(connection);
      const grants = await MongoGrantRepository.create(connection);
      const alarmDevices = await MongoAlarmDeviceRepository.create(connection);
      const alarms = await MongoAlarmRepository.create(connection);
      const enrolments = await MongoEnrolmentRepository.create(connection);
      return new MongoStore(connection, cameras, users, audit, incidents, grants, alarmDevices, alarms, enrolments);
    } catch (error) {
      await connection.close().catch(() => undefined);
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
      () => this.connection.close(),
    ]);
    return this.#closing;
  }
}
