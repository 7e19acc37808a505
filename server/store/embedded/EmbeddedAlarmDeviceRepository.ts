import { AppError } from '../../errors/AppError.ts';
import type { AlarmDeviceRepository } from '../../alarms/AlarmDeviceRepository.ts';
import type { AlarmDeviceFilter, AlarmDeviceOwner, AlarmDevicePatch, AlarmDeviceRecord, Dc09Settings, NewAlarmDeviceRecord } from '../../alarms/AlarmRecord.ts';
import { escapeRegExp } from '../../catalog/geo.ts';
import { openDatastore, type Datastore } from './nedb.ts';

type StoredAlarmDevice = Omit<AlarmDeviceRecord, 'id'> & { _id: string };

/** Alarm devices in an nedb file beside the catalog: `<dataDir>/catalog/alarm-devices.db`. */
export class EmbeddedAlarmDeviceRepository implements AlarmDeviceRepository {
  private constructor(private readonly db: Datastore<StoredAlarmDevice>) {}

  /** `filename` undefined: in memory (tests). */
  static async open(filename?: string): Promise<EmbeddedAlarmDeviceRepository> {
    const db = await openDatastore<StoredAlarmDevice>(filename);
    await db.ensureIndexAsync({ fieldName: 'code', unique: true });
    await db.ensureIndexAsync({ fieldName: 'dc09.account', unique: true, sparse: true });
    for (const fieldName of ['status', 'municipality']) await db.ensureIndexAsync({ fieldName });
    if (filename) db.setAutocompactionInterval(10 * 60_000);
    return new EmbeddedAlarmDeviceRepository(db);
  }

  async insert(device: NewAlarmDeviceRecord): Promise<AlarmDeviceRecord> {
    const now = new Date();
    const doc = withoutUndefined({ ...device, owner: copyOwner(device.owner), location: { ...device.location }, cameras: [...device.cameras], ...(device.dc09 && { dc09: copyDc09(device.dc09) }), createdAt: now, updatedAt: now });
    try {
      return fromStored(await this.db.insertAsync(doc as StoredAlarmDevice));
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') {
        throw new AppError('conflict', (error as { key?: unknown }).key === device.dc09?.account.toUpperCase() ? `DC-09 account ${device.dc09?.account} is another device's` : `alarm device code ${device.code} is already registered`);
      }
      throw error;
    }
  }

  async findById(id: string): Promise<AlarmDeviceRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const doc = await this.db.findOneAsync({ _id: id });
    return doc ? fromStored(doc) : undefined;
  }

  async findByCode(code: string): Promise<AlarmDeviceRecord | undefined> {
    if (typeof code !== 'string' || code.length === 0) return undefined;
    const doc = await this.db.findOneAsync({ code });
    return doc ? fromStored(doc) : undefined;
  }

  async findByDc09Account(account: string): Promise<AlarmDeviceRecord | undefined> {
    if (typeof account !== 'string' || account.length === 0) return undefined;
    const doc = await this.db.findOneAsync({ 'dc09.account': account.toUpperCase() } as never);
    return doc ? fromStored(doc) : undefined;
  }

  async list(filter: AlarmDeviceFilter, page: { offset: number; limit: number }): Promise<{ items: AlarmDeviceRecord[]; total: number }> {
    const query = toQuery(filter);
    // nedb reads limit 0 as "no limit": an empty page is answered without reading documents.
    const [docs, total] = await Promise.all([
      page.limit > 0 ? this.db.findAsync(query).sort({ code: 1 }).skip(Math.max(0, page.offset)).limit(page.limit) : Promise.resolve([]),
      this.db.countAsync(query),
    ]);
    return { items: docs.map(fromStored), total };
  }

  async update(id: string, patch: AlarmDevicePatch): Promise<AlarmDeviceRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const $set: Record<string, unknown> = { updatedAt: new Date() };
    const $unset: Record<string, true> = {};
    for (const key of PATCHABLE) {
      const value = patch[key];
      if (value === undefined) continue;
      if (key === 'owner') $set[key] = copyOwner(value as AlarmDeviceOwner);
      else if (key === 'cameras') $set[key] = [...(value as string[])];
      else if (key === 'location') $set[key] = { ...(value as object) };
      else if (key === 'dc09') $set[key] = copyDc09(value as Dc09Settings);
      else $set[key] = value;
    }
    // Removing wins over a value given in the same patch.
    if (patch.unsetSupervision) {
      delete $set.supervisionIntervalS;
      $unset.supervisionIntervalS = true;
    }
    if (patch.unsetAddress) {
      delete $set.address;
      $unset.address = true;
    }
    if (patch.unsetDc09) {
      delete $set.dc09;
      $unset.dc09 = true;
    }
    const update = Object.keys($unset).length > 0 ? { $set, $unset } : { $set };
    let result;
    try {
      result = await this.db.updateAsync({ _id: id }, update, { returnUpdatedDocs: true, multi: false });
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') throw new AppError('conflict', `DC-09 account ${patch.dc09?.account ?? ''} is another device's`);
      throw error;
    }
    const doc = result.affectedDocuments as StoredAlarmDevice | null;
    return result.numAffected > 0 && doc ? fromStored(doc) : undefined;
  }

  async touch(id: string, seenAt: Date): Promise<void> {
    if (typeof id !== 'string' || id.length === 0) return;
    // $max: an earlier time (a late request) leaves lastSeenAt as it is.
    await this.db.updateAsync({ _id: id }, { $max: { lastSeenAt: seenAt } }, { multi: false });
  }

  async close(): Promise<void> {
    this.db.stopAutocompaction();
    if (this.db.filename) await this.db.compactDatafileAsync();
  }
}

/** Only these fields change through update(), as in the mongo adapter's buildAlarmDeviceUpdate. */
const PATCHABLE = ['name', 'kind', 'owner', 'location', 'address', 'area', 'municipality', 'cameras', 'supervisionIntervalS', 'status', 'httpKey', 'keyIssuedAt', 'dc09'] as const satisfies ReadonlyArray<keyof AlarmDevicePatch>;

function toQuery(filter: AlarmDeviceFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (filter.status) query.status = { $in: filter.status };
  if (filter.kind !== undefined) query.kind = filter.kind;
  if (filter.area !== undefined) query.area = filter.area;
  if (filter.municipality !== undefined) query.municipality = filter.municipality;
  if (filter.codes) query.code = { $in: filter.codes };
  if (filter.supervised !== undefined) query.supervisionIntervalS = { $exists: filter.supervised };
  if (filter.q) {
    const pattern = new RegExp(escapeRegExp(filter.q), 'i');
    query.$or = [{ code: { $regex: pattern } }, { name: { $regex: pattern } }, { 'owner.name': { $regex: pattern } }];
  }
  return query;
}

function copyOwner(owner: AlarmDeviceOwner): AlarmDeviceOwner {
  return withoutUndefined({ name: owner.name, phone: owner.phone, email: owner.email }) as AlarmDeviceOwner;
}

/** A shallow copy without the fields given as undefined (nedb would keep them in memory, not in the file). */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function fromStored(doc: StoredAlarmDevice): AlarmDeviceRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: _id, owner: { ...rest.owner }, location: { ...rest.location }, cameras: [...rest.cameras], ...(rest.dc09 && { dc09: copyDc09(rest.dc09) }) };
}

/** The account upper-cased (panels send hex digits in either case), the key only when there is one. */
function copyDc09(dc09: Dc09Settings): Dc09Settings {
  return withoutUndefined({ account: dc09.account.toUpperCase(), encryption: dc09.encryption, key: dc09.key, encryptionRequired: dc09.encryptionRequired }) as Dc09Settings;
}
