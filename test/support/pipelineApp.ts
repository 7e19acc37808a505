import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../server/app.ts';
import { loadConfig } from '../../server/config/loadConfig.ts';
import type { Config, ConfigInput } from '../../server/config/schema.ts';
import { LogCapture } from './LogCapture.ts';
import type { Role } from '../../server/auth/Identity.ts';
import type { CameraArea } from '../../server/catalog/CameraRecord.ts';

export interface TestApp {
  app: App;
  log: LogCapture;
  /** A bearer token of a new enabled user with this role (both areas, every municipality unless given). */
  token(role?: Role, assignments?: { areas?: CameraArea[]; municipalities?: string[] }): Promise<string>;
  /** A new user's id, for login codes. */
  user(role?: Role, assignments?: { areas?: CameraArea[]; municipalities?: string[] }): Promise<string>;
  /** The console link (single-use code) of a new user with this role. */
  consoleLink(role?: Role): Promise<string>;
  close(): Promise<void>;
}

let userSerial = 0;

export interface TestAppOptions {
  /**
   * Settings the schema refuses but a test needs (e.g. a break-glass limit of seconds, not minutes):
   * applied to the validated config. Only for timings a test cannot wait for.
   */
  adjust?: (config: Readonly<Config>) => Readonly<Config>;
}

/**
 * An App with test timings (idle close 0, fast backoff), free ports and a throwaway data dir, or
 * `overrides.dataDir` (kept at close, so a second app can start on it: a restart).
 */
export async function startTestApp(overrides: ConfigInput, options: TestAppOptions = {}): Promise<TestApp> {
  const ownDataDir = overrides.dataDir === undefined;
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'c5-data-'));
  const loaded = loadConfig({
    configDir: join(dataDir, 'no-config'),
    env: {},
    overrides: {
      env: 'test',
      dataDir,
      logLevel: 'debug',
      ...overrides,
      http: { host: '127.0.0.1', port: 0, ...overrides.http },
      health: { enabled: false, ...overrides.health },
      dc09: { port: 0, ...overrides.dc09 },
      media: { workers: 2, webRtcPort: 0, ...overrides.media },
      ingest: {
        idleCloseMs: 0,
        backoffInitialMs: 200,
        backoffMaxMs: 2000,
        stallTimeoutMs: 4000,
        startTimeoutMs: 20000,
        ...overrides.ingest,
      },
    },
  });
  const config = options.adjust ? options.adjust(loaded) : loaded;
  const log = new LogCapture();
  const app = await App.create({ config, logger: log.logger });
  const user = async (role: Role = 'operator', assignments: { areas?: CameraArea[]; municipalities?: string[] } = {}) => {
    const created = await app.users.createUser({
      username: `${role}-${process.pid}-${++userSerial}`,
      displayName: `Test ${role}`,
      role,
      areas: assignments.areas ?? ['agency', 'citizen'],
      municipalities: assignments.municipalities ?? [],
      password: 'a-long-test-password',
    });
    return created.id;
  };
  return {
    app,
    log,
    user,
    token: async (role, assignments) => app.tokens.issue({ userId: await user(role, assignments), role: role ?? 'operator', authTime: Math.floor(Date.now() / 1000) }).token,
    consoleLink: async (role = 'operator') => `${app.consoleUrl}/#code=${app.loginCodes.issue({ userId: await user(role), role })}`,
    close: async () => {
      await app.close();
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
