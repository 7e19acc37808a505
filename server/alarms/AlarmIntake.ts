import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors/AppError.ts';
import type { AlarmDeviceService } from './AlarmDeviceService.ts';
import type { AlarmDeviceRecord } from './AlarmRecord.ts';
import { isTimestamp, REQUEST_ID, signatureHeaders, verify } from './AlarmSignature.ts';
import type { RefusalLog } from './RefusalLog.ts';
import { ReplayGuard } from './ReplayGuard.ts';

/** The key an unknown device's request is checked against, so that path costs what a known device's does. */
const UNKNOWN_DEVICE_KEY = '0'.repeat(64);

export interface IntakeSettings {
  /** Largest difference between a request's timestamp and the server's clock (s). */
  signatureWindowS: number;
  ratePerDevicePerMinute: number;
  ratePerAddressPerMinute: number;
}

/** A request to the intake as the HTTP layer read it. */
export interface IntakeRequest {
  /** The client's address (after the trusted proxies). */
  source: string;
  method: string;
  /** Without the query. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, byte for byte. */
  body: Buffer;
}

/** Why a request was refused: the reasons the audit counts. */
export type RefusalReason = 'missing_headers' | 'unknown_device' | 'stale_timestamp' | 'bad_signature' | 'replayed' | 'device_suspended' | 'device_retired' | 'rate_limited_address' | 'rate_limited_device';

/**
 * Authenticates requests to POST /api/alarms (see AlarmSignature for the scheme), in this order:
 * the source address's rate limit, the headers, the device, the timestamp within +/- the window,
 * the signature, the request id not seen within twice the window, the device's status, the
 * device's rate limit. A refused request changes nothing but the refusal audit (RefusalLog), and
 * throws AppError: unauthenticated (401) for anything that does not prove the device, forbidden
 * (403) for a proven but suspended or retired device, rate_limited (429) with retryAfterSeconds.
 */
export class AlarmIntake {
  readonly #replays: ReplayGuard;
  readonly #perAddress: RateLimiterMemory;
  readonly #perDevice: RateLimiterMemory;

  /**
   * `replayFile`: where the request ids still remembered are kept across a restart (written at close,
   * read at start, mode 0600); a crash loses them, so after one a request signed before it may be
   * accepted once more within its window.
   */
  constructor(
    private readonly devices: AlarmDeviceService,
    private readonly refusals: RefusalLog,
    private readonly settings: IntakeSettings,
    private readonly replayFile?: string,
  ) {
    this.#replays = new ReplayGuard();
    if (replayFile) {
      try {
        this.#replays.restore(JSON.parse(readFileSync(replayFile, 'utf8')));
      } catch {
        // No file (first start, or after a crash): nothing to carry over.
      }
    }
    this.#perAddress = new RateLimiterMemory({ keyPrefix: 'alarm-address', points: settings.ratePerAddressPerMinute, duration: 60 });
    this.#perDevice = new RateLimiterMemory({ keyPrefix: 'alarm-device', points: settings.ratePerDevicePerMinute, duration: 60 });
  }

  /**
   * The device that signed `request`; throws (and audits) otherwise. `release()` forgets the request
   * id again: the caller calls it when the request is not taken after all (a bad body, a failure),
   * so the device can send the same request again.
   */
  async authenticate(request: IntakeRequest, now = Date.now()): Promise<{ device: AlarmDeviceRecord; release: () => void }> {
    const claimed = header(request.headers, signatureHeaders.device);
    const deviceLabel = claimed && /^[A-Za-z0-9._-]{1,64}$/.test(claimed) ? claimed : undefined;
    await this.#limit(this.#perAddress, request.source, request.source, 'rate_limited_address', deviceLabel, 'too many alarm requests from this address');

    const timestamp = header(request.headers, signatureHeaders.timestamp);
    const requestId = header(request.headers, signatureHeaders.requestId);
    const signature = header(request.headers, signatureHeaders.signature);
    const missing = Object.entries({ [signatureHeaders.device]: deviceLabel, [signatureHeaders.timestamp]: timestamp, [signatureHeaders.requestId]: requestId, [signatureHeaders.signature]: signature })
      .filter(([, value]) => value === undefined)
      .map(([name]) => name);
    if (missing.length > 0 || !deviceLabel || !timestamp || !requestId || !signature) {
      throw this.#refuse(request.source, 'missing_headers', deviceLabel, 'unauthenticated', `a signed alarm needs the headers ${missing.join(', ') || 'X-C5-Device'} (well formed)`);
    }
    if (!isTimestamp(timestamp) || !REQUEST_ID.test(requestId)) {
      throw this.#refuse(request.source, 'missing_headers', deviceLabel, 'unauthenticated', 'X-C5-Timestamp must be Unix seconds and X-C5-Request-Id 8-128 of A-Z a-z 0-9 . _ -');
    }
    // The time first, before the device is looked up: a stale request naming a registered code and
    // one naming an unknown code get the same answer (no oracle of device codes).
    const skewS = Math.round(now / 1000) - Number(timestamp);
    if (Math.abs(skewS) > this.settings.signatureWindowS) {
      throw this.#refuse(request.source, 'stale_timestamp', deviceLabel, 'unauthenticated', `the request's timestamp is ${Math.abs(skewS)} s ${skewS > 0 ? 'behind' : 'ahead of'} the server's clock (at most ${this.settings.signatureWindowS} s): check the device's clock`, { serverTime: Math.floor(now / 1000) });
    }
    const signed = { timestamp, requestId, method: request.method, path: request.path, body: request.body };
    const found = await this.devices.credentials(deviceLabel);
    if (!found) {
      // An unknown device and a wrong signature get the same answer after the same work: a stranger learns no device codes.
      verify(UNKNOWN_DEVICE_KEY, signed, signature);
      throw this.#refuse(request.source, 'unknown_device', deviceLabel, 'unauthenticated', 'the signature is not valid', { reason: 'bad_signature' });
    }
    if (!verify(found.keyHex, signed, signature)) {
      throw this.#refuse(request.source, 'bad_signature', deviceLabel, 'unauthenticated', 'the signature is not valid');
    }
    // Kept until the timestamp leaves the window (plus the second the rounding may add): a replay is refused for as long as its time would pass.
    const keepUntil = (Number(timestamp) + this.settings.signatureWindowS + 1) * 1000;
    if (this.#replays.seenBefore(found.device.id, requestId, now, keepUntil)) {
      throw this.#refuse(request.source, 'replayed', deviceLabel, 'unauthenticated', 'this request id was used already (a replayed request)');
    }
    const release = () => this.#replays.forget(found.device.id, requestId);
    if (found.device.status === 'suspended' || found.device.status === 'retired') {
      throw this.#refuse(request.source, found.device.status === 'suspended' ? 'device_suspended' : 'device_retired', deviceLabel, 'forbidden', `alarm device ${found.device.code} is ${found.device.status}`);
    }
    try {
      await this.#limit(this.#perDevice, found.device.id, request.source, 'rate_limited_device', deviceLabel, `too many requests from alarm device ${found.device.code}`);
    } catch (error) {
      // Not taken: the device may send the same request again once the limit allows.
      release();
      throw error;
    }
    return { device: found.device, release };
  }

  /** Keeps the request ids still remembered for the next start. */
  close(): void {
    if (!this.replayFile) return;
    mkdirSync(dirname(this.replayFile), { recursive: true, mode: 0o700 });
    writeFileSync(`${this.replayFile}.tmp`, JSON.stringify(this.#replays.snapshot()), { mode: 0o600 });
    chmodSync(`${this.replayFile}.tmp`, 0o600);
    renameSync(`${this.replayFile}.tmp`, this.replayFile);
  }

  /** Request ids remembered now (tests, metrics). */
  get rememberedRequestIds(): number {
    return this.#replays.size;
  }

  async #limit(limiter: RateLimiterMemory, key: string, source: string, reason: RefusalReason, device: string | undefined, message: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      throw this.#refuse(source, reason, device, 'rate_limited', message, { retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) });
    }
  }

  #refuse(source: string, reason: RefusalReason, device: string | undefined, code: 'unauthenticated' | 'forbidden' | 'rate_limited', message: string, details?: Record<string, unknown>): AppError {
    this.refusals.refused(source, reason, device);
    // `details.reason` may differ from the audited reason: an unknown device answers as a bad signature.
    return new AppError(code, message, { reason, ...details });
  }
}

function header(headers: IntakeRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  const single = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
  return single === undefined || single === '' ? undefined : single.trim();
}
