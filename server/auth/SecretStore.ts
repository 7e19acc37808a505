import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors/AppError.ts';

/**
 * Server secrets: the configured value when there is one; otherwise, outside production, a random
 * value generated on first run into `<dataDir>/secrets/<name>` (mode 0600) and reused after.
 * A production start without a configured value refuses to start.
 */
export class SecretStore {
  constructor(
    private readonly dataDir: string,
    private readonly production: boolean,
  ) {}

  get(name: string, configured: string | undefined, configKey: string): string {
    if (configured) return configured;
    if (this.production) {
      throw new AppError('invalid_state', `${configKey} must be configured in production (no secret is generated there)`);
    }
    const dir = join(this.dataDir, 'secrets');
    const path = join(dir, name);
    if (existsSync(path)) return readFileSync(path, 'utf8').trim();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const secret = randomBytes(48).toString('base64url');
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return secret;
  }
}
