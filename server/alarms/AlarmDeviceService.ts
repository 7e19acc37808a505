import type { Logger } from '../logging/createLogger.ts';
import { AppError } from '../errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { AuditLog } from '../audit/AuditLog.ts';
import type { SecretVault } from '../auth/SecretVault.ts';
import type { CameraCatalog } from '../catalog/CameraCatalog.ts';
import type { UserRecord } from '../users/UserRecord.ts';
import type { AlarmDeviceStatusEvent, AlarmDeviceView } from '../signalling/protocol.ts';
import type { AlarmDeviceRepository } from './AlarmDeviceRepository.ts';
import { randomBytes } from 'node:crypto';
import type { AlarmDevicePatch, AlarmDeviceRecord, AlarmDeviceStatus, Dc09Encryption, Dc09Settings, NewAlarmDeviceRecord } from './AlarmRecord.ts';
import type { Dc09SettingsInput, DeviceCreate, DevicePatch } from './alarmSchemas.ts';
import { newDeviceKey } from './AlarmSignature.ts';

/** AES key length per DC-09 encryption, in bytes. */
const DC09_KEY_BYTES: Record<Exclude<Dc09Encryption, 'none'>, number> = { aes128: 16, aes192: 24, aes256: 32 };

export interface SupervisionSettings {
  /** A supervised device is offline when silent for its interval plus this (s). */
  supervisionGraceS: number;
  /** How often supervised devices are checked (ms). */
  supervisionCheckMs: number;
}

/** A supervised device's liveness, kept in memory. */
interface Supervised {
  device: AlarmDeviceRecord;
  /** Epoch ms: the last request accepted, or (never seen) when supervision started. */
  lastSeenAt: number;
  online: boolean;
}

export type AlarmDeviceServiceEvents = {
  /** A supervised device went silent past its interval (offline) or was heard again (online). Not an alarm. */
  deviceStatus: [AlarmDeviceStatusEvent & { area: AlarmDeviceRecord['area'] }];
};

/**
 * Alarm devices: registration by admins (each gets an HTTP key, shown once, stored sealed), changes,
 * key rotation, the credentials the intake checks signatures with, and supervision (devices that
 * report heartbeats are offline when silent past their interval). Every change is audited.
 */
export class AlarmDeviceService extends TypedEmitter<AlarmDeviceServiceEvents> {
  readonly #supervised = new Map<string, Supervised>();
  readonly #timer: NodeJS.Timeout;
  readonly #startedAt = Date.now();

  private constructor(
    readonly repository: AlarmDeviceRepository,
    private readonly vault: SecretVault,
    private readonly catalog: CameraCatalog,
    private readonly audit: AuditLog,
    private readonly settings: SupervisionSettings,
    private readonly logger: Logger,
  ) {
    super();
    this.#timer = setInterval(() => this.#checkSupervision(), settings.supervisionCheckMs);
    this.#timer.unref();
  }

  /** Loads the supervised devices (a device never heard since this start gets a full interval). */
  static async create(options: { repository: AlarmDeviceRepository; vault: SecretVault; catalog: CameraCatalog; audit: AuditLog; settings: SupervisionSettings; logger: Logger }): Promise<AlarmDeviceService> {
    const service = new AlarmDeviceService(options.repository, options.vault, options.catalog, options.audit, options.settings, options.logger);
    for (let offset = 0; ; offset += 1000) {
      const page = await options.repository.list({ status: ['active'], supervised: true }, { offset, limit: 1000 });
      for (const device of page.items) service.#supervise(device);
      if (page.items.length < 1000) break;
    }
    return service;
  }

  // ---- administration ----------------------------------------------------------------------------

  /**
   * Registers a device and issues its HTTP key: returned here once, stored only sealed. Throws
   * conflict (code taken), unprocessable (a linked camera not registered or retired).
   */
  async create(actor: UserRecord | undefined, input: DeviceCreate, via: 'api' | 'import' = 'api'): Promise<{ device: AlarmDeviceRecord; httpKey: string; dc09Key?: string }> {
    await this.#checkCameras(input.cameras);
    const httpKey = newDeviceKey();
    const dc09 = input.dc09 ? this.#dc09Settings(input.dc09, undefined) : undefined;
    const record: NewAlarmDeviceRecord = {
      code: input.code,
      name: input.name,
      kind: input.kind,
      owner: { ...input.owner },
      location: { ...input.location },
      ...(input.address !== undefined && { address: input.address }),
      area: input.area,
      municipality: input.municipality,
      cameras: [...new Set(input.cameras)],
      ...(input.supervisionIntervalS !== undefined && { supervisionIntervalS: input.supervisionIntervalS }),
      status: input.status,
      httpKey: this.vault.seal(httpKey),
      keyIssuedAt: new Date(),
      ...(dc09 && { dc09: dc09.settings }),
    };
    const device = await this.repository.insert(record);
    await this.#audit(actor, 'alarm_device.create', device, {
      via,
      kind: device.kind,
      status: device.status,
      municipality: device.municipality,
      cameras: device.cameras,
      ...(device.dc09 && { dc09: { account: device.dc09.account, encryption: device.dc09.encryption, encryptionRequired: device.dc09.encryptionRequired } }),
    });
    this.#supervise(device);
    return { device, httpKey, ...(dc09?.keyHex && { dc09Key: dc09.keyHex }) };
  }

  async list(query: { status?: AlarmDeviceStatus[]; kind?: AlarmDeviceRecord['kind']; area?: AlarmDeviceRecord['area']; municipality?: string; q?: string; offset: number; limit: number }): Promise<{ items: AlarmDeviceRecord[]; total: number }> {
    const { offset, limit, ...filter } = query;
    return this.repository.list(filter, { offset, limit });
  }

  /** Throws not_found. */
  async get(id: string): Promise<AlarmDeviceRecord> {
    const device = await this.repository.findById(id);
    if (!device) throw new AppError('not_found', `no alarm device ${id}`);
    return device;
  }

  /** Changes a device (status included: suspend, retire, test mode). Throws not_found, unprocessable, invalid_state (retired). */
  async update(actor: UserRecord | undefined, id: string, patch: DevicePatch): Promise<AlarmDeviceRecord & { issuedDc09Key?: string }> {
    const before = await this.get(id);
    if (before.status === 'retired' && patch.status !== undefined && patch.status !== 'retired') {
      throw new AppError('invalid_state', `alarm device ${before.code} is retired: register a new device instead`);
    }
    if (patch.cameras) await this.#checkCameras(patch.cameras);
    const { address, supervisionIntervalS, cameras, dc09: dc09Input, ...rest } = patch;
    const dc09 = dc09Input ? this.#dc09Settings(dc09Input, before.dc09) : undefined;
    const changes: AlarmDevicePatch = {
      ...rest,
      ...(dc09Input === null ? { unsetDc09: true } : dc09 && { dc09: dc09.settings }),
      ...(cameras && { cameras: [...new Set(cameras)] }),
      ...(address === null ? { unsetAddress: true } : address !== undefined && { address }),
      ...(supervisionIntervalS === null ? { unsetSupervision: true } : supervisionIntervalS !== undefined && { supervisionIntervalS }),
    };
    const device = await this.repository.update(id, changes);
    if (!device) throw new AppError('not_found', `no alarm device ${id}`);
    await this.#audit(actor, 'alarm_device.update', device, {
      changed: Object.keys(patch).sort(),
      ...(patch.status && patch.status !== before.status && { status: { from: before.status, to: patch.status } }),
      ...(dc09?.keyHex && { dc09KeyIssued: true }),
    });
    this.#supervise(device);
    return { ...device, ...(dc09?.keyHex && { issuedDc09Key: dc09.keyHex }) };
  }

  /** Issues a new HTTP key (the old one stops working at once); returned once. Throws not_found, invalid_state (retired). */
  async rotateKey(actor: UserRecord | undefined, id: string, which: 'http' | 'dc09' = 'http'): Promise<{ device: AlarmDeviceRecord; httpKey?: string; dc09Key?: string }> {
    const before = await this.get(id);
    if (before.status === 'retired') throw new AppError('invalid_state', `alarm device ${before.code} is retired`);
    if (which === 'dc09') {
      if (!before.dc09 || before.dc09.encryption === 'none') throw new AppError('invalid_state', `alarm device ${before.code} has no DC-09 encryption key`);
      const keyHex = randomBytes(DC09_KEY_BYTES[before.dc09.encryption]).toString('hex').toUpperCase();
      const device = await this.repository.update(id, { dc09: { ...before.dc09, key: this.vault.seal(keyHex) } });
      if (!device) throw new AppError('not_found', `no alarm device ${id}`);
      await this.#audit(actor, 'alarm_device.rotate_key', device, { which });
      return { device, dc09Key: keyHex };
    }
    const httpKey = newDeviceKey();
    const device = await this.repository.update(id, { httpKey: this.vault.seal(httpKey), keyIssuedAt: new Date() });
    if (!device) throw new AppError('not_found', `no alarm device ${id}`);
    await this.#audit(actor, 'alarm_device.rotate_key', device, { which });
    return { device, httpKey };
  }

  // ---- the intake's side -------------------------------------------------------------------------

  /** The device named `code` and its HTTP key, for checking a signature; undefined when unknown. */
  async credentials(code: string): Promise<{ device: AlarmDeviceRecord; keyHex: string } | undefined> {
    const device = await this.repository.findByCode(code);
    if (!device) return undefined;
    try {
      return { device, keyHex: this.vault.open(device.httpKey, `the HTTP key of alarm device ${device.code}`) };
    } catch (error) {
      // A key sealed under a key the server no longer knows (CREDENTIAL_KEY changed without PREVIOUS_CREDENTIAL_KEYS).
      this.logger.error({ err: error, device: device.code }, 'cannot open an alarm device key: rotate its key');
      return undefined;
    }
  }

  /**
   * The device reporting over SIA DC-09 as `account`, and its AES key (hex) when it has one;
   * undefined when no device has the account or its key cannot be opened.
   */
  async dc09Credentials(account: string): Promise<{ device: AlarmDeviceRecord & { dc09: Dc09Settings }; keyHex?: string } | undefined> {
    const device = await this.repository.findByDc09Account(account);
    if (!device?.dc09) return undefined;
    if (!device.dc09.key) return { device: device as AlarmDeviceRecord & { dc09: Dc09Settings } };
    try {
      return { device: device as AlarmDeviceRecord & { dc09: Dc09Settings }, keyHex: this.vault.open(device.dc09.key, `the DC-09 key of alarm device ${device.code}`) };
    } catch (error) {
      this.logger.error({ err: error, device: device.code }, 'cannot open an alarm device DC-09 key: rotate it');
      return undefined;
    }
  }

  /** A signed request from the device was accepted at `at`: it is alive. */
  async seen(device: AlarmDeviceRecord, at: Date): Promise<void> {
    const supervised = this.#supervised.get(device.id);
    if (supervised) {
      supervised.lastSeenAt = Math.max(supervised.lastSeenAt, at.getTime());
      if (!supervised.online) {
        supervised.online = true;
        await this.#audit(undefined, 'alarm_device.online', supervised.device, { silentS: Math.round((at.getTime() - (supervised.device.lastSeenAt?.getTime() ?? this.#startedAt)) / 1000) });
        this.emit('deviceStatus', this.#statusEvent(supervised));
      }
      supervised.device = { ...supervised.device, lastSeenAt: at };
    }
    await this.repository.touch(device.id, at);
  }

  /** Supervised devices offline now. */
  offline(): Array<AlarmDeviceStatusEvent & { area: AlarmDeviceRecord['area'] }> {
    return [...this.#supervised.values()].filter((entry) => !entry.online).map((entry) => this.#statusEvent(entry));
  }

  /** Whether a supervised device is online now (undefined: not supervised). */
  onlineNow(deviceId: string): boolean | undefined {
    return this.#supervised.get(deviceId)?.online;
  }

  /** The API's view of a device (never its key). */
  view(device: AlarmDeviceRecord): AlarmDeviceView {
    const online = this.onlineNow(device.id);
    return {
      id: device.id,
      code: device.code,
      name: device.name,
      kind: device.kind,
      owner: { ...device.owner },
      location: { ...device.location },
      ...(device.address !== undefined && { address: device.address }),
      area: device.area,
      municipality: device.municipality,
      cameras: [...device.cameras],
      ...(device.supervisionIntervalS !== undefined && { supervisionIntervalS: device.supervisionIntervalS }),
      status: device.status,
      keyIssuedAt: device.keyIssuedAt.toISOString(),
      ...(device.lastSeenAt && { lastSeenAt: device.lastSeenAt.toISOString() }),
      ...(online !== undefined && { online }),
      ...(device.dc09 && { dc09: { account: device.dc09.account, encryption: device.dc09.encryption, encryptionRequired: device.dc09.encryptionRequired } }),
      createdAt: device.createdAt.toISOString(),
      updatedAt: device.updatedAt.toISOString(),
    };
  }

  close(): void {
    clearInterval(this.#timer);
    this.#supervised.clear();
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** Starts, updates or ends the supervision of a device after it was created or changed. */
  #supervise(device: AlarmDeviceRecord): void {
    const current = this.#supervised.get(device.id);
    if (device.status !== 'active' || device.supervisionIntervalS === undefined) {
      if (current && !current.online) this.emit('deviceStatus', { ...this.#statusEvent(current), online: true });
      this.#supervised.delete(device.id);
      return;
    }
    if (current) {
      current.device = device;
      return;
    }
    // Never heard since this start: counted from now (or its last request, when later), so a restart raises no false offline.
    const lastSeenAt = Math.max(device.lastSeenAt?.getTime() ?? 0, this.#startedAt, device.createdAt.getTime());
    this.#supervised.set(device.id, { device, lastSeenAt, online: true });
  }

  #checkSupervision(): void {
    const now = Date.now();
    for (const entry of this.#supervised.values()) {
      const interval = entry.device.supervisionIntervalS;
      if (!entry.online || interval === undefined) continue;
      if (now - entry.lastSeenAt <= (interval + this.settings.supervisionGraceS) * 1000) continue;
      entry.online = false;
      void this.#audit(undefined, 'alarm_device.offline', entry.device, { silentS: Math.round((now - entry.lastSeenAt) / 1000), supervisionIntervalS: interval }).catch(() => undefined);
      this.emit('deviceStatus', this.#statusEvent(entry));
    }
  }

  #statusEvent(entry: Supervised): AlarmDeviceStatusEvent & { area: AlarmDeviceRecord['area'] } {
    return {
      deviceId: entry.device.id,
      code: entry.device.code,
      name: entry.device.name,
      municipality: entry.device.municipality,
      area: entry.device.area,
      online: entry.online,
      lastSeenAt: new Date(entry.lastSeenAt).toISOString(),
    };
  }

  /**
   * The stored DC-09 settings for input, given the current ones: a new key (returned once) when
   * the panel gets encryption or a different key size; otherwise the current key is kept.
   */
  #dc09Settings(input: Dc09SettingsInput, current: Dc09Settings | undefined): { settings: Dc09Settings; keyHex?: string } {
    // Not given: kept as it was for a panel that stays encrypted; otherwise required whenever encrypted.
    const encryptionRequired = input.encryptionRequired ?? (current && current.encryption !== 'none' && input.encryption !== 'none' ? current.encryptionRequired : input.encryption !== 'none');
    if (input.encryption === 'none') return { settings: { account: input.account, encryption: 'none', encryptionRequired } };
    if (current?.encryption === input.encryption && current.key) {
      return { settings: { account: input.account, encryption: input.encryption, key: current.key, encryptionRequired } };
    }
    const keyHex = randomBytes(DC09_KEY_BYTES[input.encryption]).toString('hex').toUpperCase();
    return { settings: { account: input.account, encryption: input.encryption, key: this.vault.seal(keyHex), encryptionRequired }, keyHex };
  }

  async #checkCameras(codes: string[]): Promise<void> {
    if (codes.length === 0) return;
    const unique = [...new Set(codes)];
    const found = await this.catalog.repository.findByCodes(unique);
    const problems = unique.flatMap((code) => {
      const camera = found.find((record) => record.code === code);
      if (!camera) return [`camera ${code} is not registered`];
      if (camera.retiredAt) return [`camera ${code} is retired`];
      return [];
    });
    if (problems.length > 0) throw new AppError('unprocessable', problems.join('; '), { cameras: unique });
  }

  #audit(actor: UserRecord | undefined, action: string, device: AlarmDeviceRecord, details: Record<string, unknown>): Promise<unknown> {
    return this.audit.record({ action, deviceId: device.id, ...(actor && { userId: actor.id, username: actor.username }), details: { device: device.code, ...details } }).catch((error: unknown) => {
      this.logger.error({ err: error, action }, 'could not audit an alarm device change');
    });
  }
}
