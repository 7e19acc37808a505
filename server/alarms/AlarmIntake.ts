import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors/AppError.ts';
import type { AlarmDeviceService } from './AlarmDeviceService.ts';
import type { AlarmDeviceRecord } from './AlarmRecord.ts';
import { isTimestamp, REQUEST_ID, signatureHeaders, verify } from './AlarmSignature.ts';
import type { RefusalLog } from './RefusalLog.ts';
import { ReplayGuard } from './ReplayGuard.ts';

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

  constructor(
    private readonly devices: AlarmDeviceService,
    private readonly refusals: RefusalLog,
    private readonly settings: IntakeSettings,
  ) {
    this.#replays = new ReplayGuard(2 * settings.signatureWindowS * 1000);
    this.#perAddress = new RateLimiterMemory({ keyPrefix: 'alarm-address', points: settings.ratePerAddressPerMinute, duration: 60 });
    this.#perDevice = new RateLimiterMemory({ keyPrefix: 'alarm-device', points: settings.ratePerDevicePerMinute, duration: 60 });
  }

  /** The device that signed `request`; throws (and audits) otherwise. */
  async authenticate(request: IntakeRequest, now = Date.now()): Promise<AlarmDeviceRecord> {
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
    const found = await this.devices.credentials(deviceLabel);
    // An unknown device and a wrong signature get the same answer: a stranger learns no device codes.
    if (!found) throw this.#refuse(request.source, 'unknown_device', deviceLabel, 'unauthenticated', 'the signature is not valid', { reason: 'bad_signature' });
    const skewS = Math.round(now / 1000) - Number(timestamp);
    if (Math.abs(skewS) > this.settings.signatureWindowS) {
      throw this.#refuse(request.source, 'stale_timestamp', deviceLabel, 'unauthenticated', `the request's timestamp is ${Math.abs(skewS)} s ${skewS > 0 ? 'behind' : 'ahead of'} the server's clock (at most ${this.settings.signatureWindowS} s): check the device's clock`, { serverTime: Math.floor(now / 1000) });
    }
    if (!verify(found.keyHex, { timestamp, requestId, method: request.method, path: request.path, body: request.body }, signature)) {
      throw this.#refuse(request.source, 'bad_signature', deviceLabel, 'unauthenticated', 'the signature is not valid');
    }
    if (this.#replays.seenBefore(found.device.id, requestId, now)) {
      throw this.#refuse(request.source, 'replayed', deviceLabel, 'unauthenticated', 'this request id was used already (a replayed request)');
    }
    if (found.device.status === 'suspended' || found.device.status === 'retired') {
      throw this.#refuse(request.source, found.device.status === 'suspended' ? 'device_suspended' : 'device_retired', deviceLabel, 'forbidden', `alarm device ${found.device.code} is ${found.device.status}`);
    }
    await this.#limit(this.#perDevice, found.device.id, request.source, 'rate_limited_device', deviceLabel, `too many requests from alarm device ${found.device.code}`);
    return found.device;
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
