import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './ConfigError.ts';
import { configSchema, environmentMap, type Config } from './schema.ts';

export interface LoadConfigOptions {
  /** Directory holding server.json and server.<env>.json; defaults to ./config. */
  configDir?: string;
  /** Extra values applied after the files and before the environment (tests, embedding). */
  overrides?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/** Defaults, then config/server.json and config/server.<NODE_ENV>.json, then the environment; validated, frozen. */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const dir = options.configDir ?? join(process.cwd(), 'config');
  const problems: string[] = [];
  let merged: Record<string, unknown> = {};
  const files = ['server.json', `server.${env.NODE_ENV ?? 'development'}.json`];
  for (const file of files) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    try {
      merged = deepMerge(merged, JSON.parse(readFileSync(path, 'utf8')) as unknown, `config file ${path}`);
    } catch (error) {
      problems.push(`${path}: ${(error as Error).message}`);
    }
  }
  if (options.overrides) merged = deepMerge(merged, options.overrides, 'overrides');
  const sources = new Map<string, string>();
  for (const entry of environmentMap) {
    const raw = env[entry.name];
    if (raw === undefined || raw === '') continue;
    const value = readEnvValue(raw, entry.kind);
    const field = entry.path.join('.');
    if (value === undefined) {
      problems.push(`${field}: environment variable ${entry.name}=${JSON.stringify(raw)} is not a valid ${entry.kind}`);
      continue;
    }
    sources.set(field, entry.name);
    merged = deepMerge(merged, nest(entry.path, value), entry.name);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, sources)));
  }
  if (result.data.env === 'production' && result.data.enrolment.allowNetworks.length > 0) {
    throw new ConfigError([`enrolment.allowNetworks${sources.has('enrolment.allowNetworks') ? ' (from ENROLMENT_ALLOW_NETWORKS)' : ''}: lets a public page reach non-public addresses; tests and labs only, refused in production`]);
  }
  return deepFreeze(result.data);
}

function describeIssue(issue: z.core.$ZodIssue, sources: Map<string, string>): string {
  let field = issue.path.map(String).join('.') || '(root)';
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => (issue.path.length ? `${field}.${key}` : key));
    return `${keys.join(', ')}: unknown configuration key`;
  }
  const source = sources.get(field);
  if (source) field += ` (from ${source})`;
  return `${field}: ${issue.message}`;
}

function readEnvValue(raw: string, kind: 'string' | 'int' | 'bool' | 'list'): unknown {
  if (kind === 'string') return raw;
  // A comma-separated list: "120, 121,122" -> ["120", "121", "122"].
  if (kind === 'list') return raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  if (kind === 'int') return /^-?\d+$/.test(raw.trim()) ? Number(raw) : undefined;
  const lower = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  return undefined;
}

function nest(path: string[], value: unknown): Record<string, unknown> {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, patch: unknown, source: string): Record<string, unknown> {
  if (!isPlainObject(patch)) throw new Error(`${source} must be a JSON object`);
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value, source) : value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
