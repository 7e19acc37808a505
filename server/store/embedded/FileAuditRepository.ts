import { createReadStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { appendFile, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { matchesAudit, type AuditEntry, type AuditFilter } from '../../audit/AuditRecord.ts';
import type { AuditRepository } from '../../audit/AuditRepository.ts';

/**
 * The embedded audit store: an append-only JSON-lines file, read by streaming, so memory stays
 * flat however long the log grows (nedb would load the whole file). Queries scan the file.
 */
export class FileAuditRepository implements AuditRepository {
  #last: AuditEntry | undefined;
  #lastLoaded = false;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  async append(entry: AuditEntry): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    this.#last = entry;
    this.#lastLoaded = true;
  }

  async last(): Promise<AuditEntry | undefined> {
    if (!this.#lastLoaded) {
      this.#last = await this.#readLastLine();
      this.#lastLoaded = true;
    }
    return this.#last;
  }

  async query(filter: AuditFilter, page: { offset: number; limit: number }): Promise<{ items: AuditEntry[]; total: number }> {
    // Newest first: keep only the window of matches that the page needs.
    const window: AuditEntry[] = [];
    let total = 0;
    const keep = page.offset + page.limit;
    for await (const entry of this.scan()) {
      if (!matchesAudit(entry, filter)) continue;
      total++;
      window.push(entry);
      if (window.length > keep) window.shift();
    }
    const newestFirst = window.reverse();
    return { items: newestFirst.slice(page.offset, page.offset + page.limit), total };
  }

  async *scan(): AsyncIterable<AuditEntry> {
    if (!existsSync(this.path)) return;
    const lines = createInterface({ input: createReadStream(this.path, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim()) yield JSON.parse(line) as AuditEntry;
    }
  }

  async deleteThrough(seq: number): Promise<number> {
    if (!existsSync(this.path)) return 0;
    const tmp = `${this.path}.retention`;
    const out = await open(tmp, 'w', 0o600);
    let removed = 0;
    try {
      for await (const entry of this.scan()) {
        if (entry.seq <= seq) removed++;
        else await out.write(`${JSON.stringify(entry)}\n`);
      }
    } finally {
      await out.close();
    }
    renameSync(tmp, this.path);
    return removed;
  }

  async close(): Promise<void> {}

  async #readLastLine(): Promise<AuditEntry | undefined> {
    if (!existsSync(this.path) || statSync(this.path).size === 0) return undefined;
    const size = statSync(this.path).size;
    const handle = await open(this.path, 'r');
    try {
      const length = Math.min(size, 256 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const lines = buffer.toString('utf8').trimEnd().split('\n');
      const lastLine = lines.at(-1);
      return lastLine ? (JSON.parse(lastLine) as AuditEntry) : undefined;
    } finally {
      await handle.close();
    }
  }
}
