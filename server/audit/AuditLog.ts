import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logging/createLogger.ts';
import type { AuditEntry, AuditFilter } from './AuditRecord.ts';
import type { AuditRepository } from './AuditRepository.ts';

/** What a caller records; the log adds seq, time and the chain values. */
export type AuditInput = Omit<AuditEntry, 'seq' | 'at' | 'prevHash' | 'hash'>;

/** Written outside the audit store: the chain head, and where the kept chain starts after retention. */
interface Checkpoint {
  head?: { seq: number; hash: string; at: string };
  retention?: { startSeq: number; startPrevHash: string; export: string; at: string };
}

export interface VerifyReport {
  ok: boolean;
  entries: number;
  firstSeq?: number;
  lastSeq?: number;
  problems: string[];
}

const GENESIS = 'genesis';

/**
 * The tamper-evident audit trail: each entry carries a sequence number and an HMAC-SHA256 over its
 * content and the previous entry's hash (the key is a server secret). The chain head is
 * checkpointed to a file outside the store (and logged); an edited entry, a chain recomputed
 * without the key, a deleted entry and a truncated tail all fail verify().
 */
export class AuditLog {
  #chain: Promise<void> = Promise.resolve();
  #seq = 0;
  #prevHash = GENESIS;
  #checkpointTimer: NodeJS.Timeout | undefined;
  #retentionTimer: NodeJS.Timeout | undefined;
  #retentionRound: Promise<unknown> = Promise.resolve();
  #closed = false;
  #loggedHeadAt = 0;

  private constructor(
    readonly repository: AuditRepository,
    private readonly key: string,
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  static async open(repository: AuditRepository, key: string, dir: string, logger: Logger): Promise<AuditLog> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const log = new AuditLog(repository, key, dir, logger);
    const last = await repository.last();
    const checkpoint = log.#readCheckpoint();
    if (last) {
      log.#seq = last.seq;
      log.#prevHash = last.hash;
    } else if (checkpoint.retention) {
      log.#seq = checkpoint.retention.startSeq - 1;
      log.#prevHash = checkpoint.retention.startPrevHash;
    }
    return log;
  }

  /** Appends an entry (serialised: the chain has one order). Resolves once it is stored. */
  record(input: AuditInput): Promise<AuditEntry> {
    const result = this.#chain.then(async () => {
      const entry = this.#seal({
        seq: this.#seq + 1,
        at: new Date().toISOString(),
        action: input.action,
        ...(input.userId && { userId: input.userId }),
        ...(input.username && { username: input.username }),
        ...(input.cameraId && { cameraId: input.cameraId }),
        ...(input.incidentId && { incidentId: input.incidentId }),
        ...(input.deviceId && { deviceId: input.deviceId }),
        ...(input.ip && { ip: input.ip }),
        ...(input.details && { details: input.details }),
        prevHash: this.#prevHash,
      });
      await this.repository.append(entry);
      this.#seq = entry.seq;
      this.#prevHash = entry.hash;
      this.#scheduleCheckpoint();
      return entry;
    });
    this.#chain = result.then(() => undefined, () => undefined);
    return result;
  }

  query(filter: AuditFilter, page: { offset: number; limit: number }) {
    return this.repository.query(filter, page);
  }

  async verify(): Promise<VerifyReport> {
    await this.#chain;
    const checkpoint = this.#readCheckpoint();
    const problems: string[] = [];
    let expectedSeq = checkpoint.retention?.startSeq ?? 1;
    let prevHash = checkpoint.retention?.startPrevHash ?? GENESIS;
    let entries = 0;
    let firstSeq: number | undefined;
    let lastSeq: number | undefined;
    const headSeen = { matched: false };
    for await (const entry of this.repository.scan()) {
      entries++;
      firstSeq ??= entry.seq;
      if (entry.seq > expectedSeq) {
        problems.push(entry.seq === expectedSeq + 1 ? `entry ${expectedSeq} missing (deleted)` : `entries ${expectedSeq}..${entry.seq - 1} missing (deleted)`);
      } else if (entry.seq < expectedSeq) {
        problems.push(`entry ${entry.seq} out of order (after ${expectedSeq - 1})`);
      }
      if (entry.prevHash !== prevHash) problems.push(`entry ${entry.seq} does not follow the entry before it (chain broken)`);
      if (this.#hash(entry) !== entry.hash) problems.push(`entry ${entry.seq} was altered (its HMAC does not match)`);
      if (checkpoint.head && entry.seq === checkpoint.head.seq) headSeen.matched = entry.hash === checkpoint.head.hash;
      expectedSeq = entry.seq + 1;
      prevHash = entry.hash;
      lastSeq = entry.seq;
      if (problems.length > 50) break;
    }
    if (checkpoint.head) {
      if ((lastSeq ?? 0) < checkpoint.head.seq) problems.push(`the log ends at ${lastSeq ?? 'nothing'} but entry ${checkpoint.head.seq} was checkpointed: entries were removed from its end`);
      else if (!headSeen.matched) problems.push(`entry ${checkpoint.head.seq} differs from its checkpoint`);
    }
    if (checkpoint.retention && !existsSync(checkpoint.retention.export)) problems.push(`the retention export ${checkpoint.retention.export} is missing`);
    return { ok: problems.length === 0, entries, ...(firstSeq !== undefined && { firstSeq }), ...(lastSeq !== undefined && { lastSeq }), problems };
  }

  /**
   * Retention: entries older than `before` are exported (JSON lines with their chain values) and
   * only then deleted; a checkpoint records where the kept chain starts.
   */
  async applyRetention(before: Date): Promise<{ exported: number; file?: string }> {
    await this.#chain;
    const old: AuditEntry[] = [];
    for await (const entry of this.repository.scan()) {
      if (Date.parse(entry.at) >= before.getTime()) break;
      old.push(entry);
    }
    const lastOld = old.at(-1);
    if (!lastOld) return { exported: 0 };
    const exportsDir = join(this.dir, 'exports');
    mkdirSync(exportsDir, { recursive: true, mode: 0o700 });
    const file = join(exportsDir, `audit-${old[0]!.seq}-${lastOld.seq}.jsonl`);
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file, { mode: 0o600 });
      out.on('error', reject);
      for (const entry of old) out.write(`${JSON.stringify(entry)}\n`);
      out.end(resolve);
    });
    const checkpoint = this.#readCheckpoint();
    checkpoint.retention = { startSeq: lastOld.seq + 1, startPrevHash: lastOld.hash, export: file, at: new Date().toISOString() };
    this.#writeCheckpoint(checkpoint);
    await this.repository.deleteThrough(lastOld.seq);
    this.logger.info({ exported: old.length, file, keptFrom: lastOld.seq + 1 }, 'audit retention applied');
    return { exported: old.length, file };
  }

  /**
   * Applies retention now and then every `everyMs` (default 6 h): entries older than `days` days
   * are exported and deleted. A failed round is logged; the next one tries again.
   */
  scheduleRetention(days: number, everyMs = 6 * 3_600_000): void {
    if (this.#closed || this.#retentionTimer) return;
    const round = (): void => {
      if (this.#closed) return;
      this.#retentionRound = this.applyRetention(new Date(Date.now() - days * 86_400_000)).catch((error: unknown) => this.logger.error({ err: error }, 'audit retention failed'));
    };
    round();
    this.#retentionTimer = setInterval(round, everyMs);
    this.#retentionTimer.unref();
  }

  /** Writes the chain head now (also done shortly after every append). */
  async checkpoint(): Promise<void> {
    await this.#chain;
    if (this.#seq === 0) return;
    const checkpoint = this.#readCheckpoint();
    checkpoint.head = { seq: this.#seq, hash: this.#prevHash, at: new Date().toISOString() };
    this.#writeCheckpoint(checkpoint);
    // The log is the second copy of the head; once a minute (and at shutdown) is enough there.
    if (Date.now() - this.#loggedHeadAt >= 60_000 || this.#closed) {
      this.#loggedHeadAt = Date.now();
      this.logger.info({ auditHead: checkpoint.head }, 'audit chain head');
    }
  }

  /** Stops the timers and writes the chain head; the repository is the store's to close. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#checkpointTimer) clearTimeout(this.#checkpointTimer);
    this.#checkpointTimer = undefined;
    if (this.#retentionTimer) clearInterval(this.#retentionTimer);
    this.#retentionTimer = undefined;
    // A round already running finishes before the store it writes to can close.
    await this.#retentionRound;
    await this.checkpoint();
  }

  #scheduleCheckpoint(): void {
    if (this.#checkpointTimer || this.#closed) return;
    this.#checkpointTimer = setTimeout(() => {
      this.#checkpointTimer = undefined;
      void this.checkpoint().catch((error: unknown) => this.logger.error({ err: error }, 'audit checkpoint failed'));
    }, 1000);
  }

  #seal(entry: Omit<AuditEntry, 'hash'>): AuditEntry {
    return { ...entry, hash: this.#hash(entry) };
  }

  #hash(entry: Omit<AuditEntry, 'hash'> & { hash?: string }): string {
    const { hash: _hash, ...content } = entry;
    return createHmac('sha256', this.key).update(canonical(content)).digest('hex');
  }

  #readCheckpoint(): Checkpoint {
    const path = join(this.dir, 'checkpoint.json');
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Checkpoint) : {};
  }

  #writeCheckpoint(checkpoint: Checkpoint): void {
    const path = join(this.dir, 'checkpoint.json');
    writeFileSync(`${path}.tmp`, JSON.stringify(checkpoint, null, 2), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }
}

/** JSON with sorted keys, so the HMAC does not depend on property order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
