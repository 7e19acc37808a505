import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../../server/app.ts';
import type { LogCapture } from './LogCapture.ts';

interface Source {
  where: string;
  text: string;
}

/**
 * Gathers everything a run let out (log lines, API response bodies, a /metrics scrape, the audit
 * entries) and fails naming where a registered secret (test passwords, camera credentials, the JWT
 * secret, the credential and audit keys, issued tokens, login codes) appears, raw or in its
 * URL-encoded, base64 or base64url forms.
 *
 *   const scan = new SecretsScan().registerApp(t.app).watchLog(t.log);
 *   scan.register('camera password', PASSWORD);
 *   const res = await scan.fetch(url, init);  // the body is kept for the scan
 *   ...
 *   await scan.collectApp(t.app);             // /metrics and the audit log
 *   scan.assertClean();                       // throws listing every leak
 */
export class SecretsScan {
  readonly #secrets = new Map<string, string>();
  readonly #sources: Source[] = [];
  readonly #logs: LogCapture[] = [];
  #responses = 0;

  /** Secrets shorter than this are not scanned for (they would match by chance). */
  static readonly MIN_LENGTH = 6;

  register(label: string, secret: string | undefined | null): this {
    if (secret && secret.length >= SecretsScan.MIN_LENGTH) this.#secrets.set(secret, label);
    return this;
  }

  /** The app's JWT secret, credential keys and audit key: configured, or generated into dataDir/secrets. */
  registerApp(app: App): this {
    const config = app.config;
    this.register('auth.jwtSecret', config.auth.jwtSecret);
    this.register('catalog.credentialKey', config.catalog.credentialKey);
    config.catalog.previousCredentialKeys.forEach((key, i) => this.register(`catalog.previousCredentialKeys[${i}]`, key));
    this.register('audit.key', config.audit.key);
    const dir = join(config.dataDir, 'secrets');
    if (existsSync(dir)) for (const name of readdirSync(dir)) this.register(`dataDir/secrets/${name}`, readFileSync(join(dir, name), 'utf8').trim());
    return this;
  }

  /** Log lines are read at assertClean(), so lines logged later are scanned too. */
  watchLog(log: LogCapture): this {
    this.#logs.push(log);
    return this;
  }

  /** Adds any text (a socket answer, a file) under a name. */
  add(where: string, text: string): this {
    this.#sources.push({ where, text });
    return this;
  }

  /** fetch() whose response body is kept for the scan (and read into `text`). */
  async fetch(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; text: string }> {
    const res = await fetch(url, init);
    const text = await res.text();
    const lines: string[] = [];
    res.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
    const headers = lines.join('\n');
    this.add(`response #${++this.#responses} ${init?.method ?? 'GET'} ${redactedUrl(url)} ${res.status}`, `${headers}\n\n${text}`);
    return { status: res.status, headers: res.headers, text };
  }

  /** A /metrics scrape and every audit entry of the app. */
  async collectApp(app: App): Promise<this> {
    const metrics = await fetch(`${app.consoleUrl}/metrics`);
    this.add('/metrics', await metrics.text());
    for (let offset = 0; ; offset += 500) {
      const { items } = await app.audit.query({}, { offset, limit: 500 });
      for (const entry of items) this.add(`audit #${(entry as { seq?: number }).seq ?? '?'} ${(entry as { action?: string }).action ?? ''}`, JSON.stringify(entry));
      if (items.length < 500) break;
    }
    return this;
  }

  /** Every place a registered secret appears: `<label> (<form>) in <where>`. */
  findings(): string[] {
    const sources = [...this.#sources, ...this.#logs.flatMap((log, i) => log.lines.map((line, n) => ({ where: `log ${i}:${n + 1}`, text: line })))];
    const found: string[] = [];
    for (const [secret, label] of this.#secrets) {
      const forms = formsOf(secret);
      for (const source of sources) {
        for (const [form, value] of forms) {
          if (source.text.includes(value)) {
            found.push(`${label} (${form}) in ${source.where}: …${excerpt(source.text, value)}…`);
            break;
          }
        }
      }
    }
    return found;
  }

  /** How much was gathered, for a test to check the scan actually saw the run. */
  get counts(): { secrets: number; sources: number; logLines: number } {
    return { secrets: this.#secrets.size, sources: this.#sources.length, logLines: this.#logs.reduce((n, log) => n + log.lines.length, 0) };
  }

  assertClean(): void {
    const found = this.findings();
    if (found.length > 0) throw new Error(`secrets leaked (${found.length}):\n  ${found.join('\n  ')}`);
  }
}

function formsOf(secret: string): Array<[string, string]> {
  const forms = new Map<string, string>([
    ['raw', secret],
    ['url-encoded', encodeURIComponent(secret)],
    ['form-encoded', new URLSearchParams({ x: secret }).toString().slice(2)],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
    ['base64', Buffer.from(secret).toString('base64').replace(/=+$/, '')],
    ['base64url', Buffer.from(secret).toString('base64url')],
  ]);
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [form, value] of forms) {
    if (seen.has(value) || value.length < SecretsScan.MIN_LENGTH) continue;
    seen.add(value);
    out.push([form, value]);
  }
  return out;
}

/** Shows where, without printing the whole secret into the failure. */
function excerpt(text: string, value: string): string {
  const at = text.indexOf(value);
  const before = text.slice(Math.max(0, at - 40), at);
  return `${before}[${value.slice(0, 3)}…]${text.slice(at + value.length, at + value.length + 40)}`.replace(/\s+/g, ' ');
}

function redactedUrl(url: string): string {
  return url.replace(/#.*$/, '#…').slice(0, 200);
}
