import { join } from 'node:path';
import { closeAll, type Store } from '../Store.ts';
import { EmbeddedCameraRepository } from './EmbeddedCameraRepository.ts';
import { EmbeddedUserRepository } from './EmbeddedUserRepository.ts';
import { FileAuditRepository } from './FileAuditRepository.ts';

/**
 * The store when no MongoDB is configured: nedb files for cameras and users, a JSON-lines file
 * for the audit trail, all under the data directory:
 *   <dataDir>/catalog/cameras.db, <dataDir>/catalog/users.db, <dataDir>/audit/audit.jsonl
 */
export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly cameras: EmbeddedCameraRepository,
    readonly users: EmbeddedUserRepository,
    readonly audit: FileAuditRepository,
  ) {}

  static async open(dataDir: string): Promise<EmbeddedStore> {
    const cameras = await EmbeddedCameraRepository.open(join(dataDir, 'catalog', 'cameras.db'));
    try {
      const users = await EmbeddedUserRepository.open(join(dataDir, 'catalog', 'users.db'));
      return new EmbeddedStore(cameras, users, new FileAuditRepository(join(dataDir, 'audit', 'audit.jsonl')));
    } catch (error) {
      await cameras.close();
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.cameras.count({ codes: [] });
  }

  close(): Promise<void> {
    // Every part is closed even when another fails; the first failure is reported after.
    this.#closing ??= closeAll([() => this.audit.close(), () => this.users.close(), () => this.cameras.close()]);
    return this.#closing;
  }
}
