import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/**
 * The part of nedb used here. The package is CommonJS while its typings declare an ES default
 * export that NodeNext resolution cannot construct, so it is loaded with require and typed here.
 */
export interface Cursor<T> extends PromiseLike<T[]> {
  sort(order: Record<string, 1 | -1>): Cursor<T>;
  skip(n: number): Cursor<T>;
  limit(n: number): Cursor<T>;
}
export interface Datastore<T> {
  readonly filename: string | null;
  loadDatabaseAsync(): Promise<void>;
  ensureIndexAsync(options: { fieldName: string; unique?: boolean; sparse?: boolean }): Promise<void>;
  setAutocompactionInterval(ms: number): void;
  stopAutocompaction(): void;
  compactDatafileAsync(): Promise<void>;
  insertAsync(doc: T): Promise<T>;
  findOneAsync(query: object): Promise<T | null>;
  findAsync(query: object): Cursor<T>;
  countAsync(query: object): PromiseLike<number>;
  updateAsync(query: object, update: object, options: object): Promise<{ numAffected: number; affectedDocuments: unknown }>;
}
const require = createRequire(import.meta.url);
const DatastoreClass = require('@seald-io/nedb') as new <T>(options: object) => Datastore<T>;

/** Opens (creating its folder) or, without a filename, creates in memory, a loaded datastore. */
export async function openDatastore<T>(filename: string | undefined): Promise<Datastore<T>> {
  if (filename) mkdirSync(dirname(filename), { recursive: true });
  const db = new DatastoreClass<T>(filename ? { filename } : { inMemoryOnly: true });
  await db.loadDatabaseAsync();
  return db;
}
