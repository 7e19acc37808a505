import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { isIP } from 'node:net';
import { AppError } from '../errors/AppError.ts';
import { ipv6Hextets } from '../util/ipv6.ts';

export interface EnrolmentLimitSettings {
  /** Submissions (each one checks a camera) per client address per hour. */
  perSourcePerHour: number;
  /** Submissions per contact (e-mail or phone) per hour. */
  perContactPerHour: number;
  /** Owner's status-link requests per client address per hour. */
  statusPerSourcePerHour: number;
}

/**
 * The public enrolment endpoints' limits (issue 26), in fixed one-hour windows per key
 * (rate-limiter-flexible, in memory: per server node). The client address is the one Express
 * derives under `http.trustProxy` (X-Forwarded-For only from a trusted proxy). A submission is
 * counted against its source before anything else is looked at, and against its contact once the
 * body is valid, so neither a stranger's address nor one contact can make the server check more
 * cameras than the limits allow.
 *
 * Errors: AppError 'rate_limited' (429) with details.retryAfterSeconds and details.limit
 * ('source' | 'contact' | 'status').
 */
export class EnrolmentLimits {
  readonly #perSource: RateLimiterMemory;
  readonly #perContact: RateLimiterMemory;
  readonly #statusPerSource: RateLimiterMemory;

  constructor(settings: EnrolmentLimitSettings) {
    this.#perSource = new RateLimiterMemory({ keyPrefix: 'enrol-source', points: settings.perSourcePerHour, duration: 3600 });
    this.#perContact = new RateLimiterMemory({ keyPrefix: 'enrol-contact', points: settings.perContactPerHour, duration: 3600 });
    this.#statusPerSource = new RateLimiterMemory({ keyPrefix: 'enrol-status', points: settings.statusPerSourcePerHour, duration: 3600 });
  }

  /** Counts one submission from `source` (a client address). */
  submissionFrom(source: string): Promise<void> {
    return this.#take(this.#perSource, EnrolmentLimits.sourceKey(source), 'source', 'too many enrolment attempts from this address: try again later');
  }

  /** Throws rate_limited when `contactKey` has no enrolment left this hour (counts nothing). */
  async contactMayEnrol(contactKey: string): Promise<void> {
    const used = await this.#perContact.get(contactKey);
    if (used && used.consumedPoints >= this.#perContact.points) {
      throw new AppError('rate_limited', 'too many enrolments for this contact: try again later', { limit: 'contact', retryAfterSeconds: Math.max(1, Math.ceil(used.msBeforeNext / 1000)) });
    }
  }

  /** Counts one enrolment stored for `contactKey` (EnrolmentLimits.contactKey). */
  submissionFor(contactKey: string): Promise<void> {
    return this.#take(this.#perContact, contactKey, 'contact', 'too many enrolment attempts for this contact: try again later');
  }

  /** Counts one status-link request from `source`. */
  statusFrom(source: string): Promise<void> {
    return this.#take(this.#statusPerSource, EnrolmentLimits.sourceKey(source), 'status', 'too many requests from this address: try again later');
  }

  /**
   * The per-source key: an IPv4 address as is (also written IPv4-mapped, ::ffff:a.b.c.d), an IPv6
   * address by its /64, the smallest network a home or mobile line is given (RFC 6177), so one
   * subscriber does not get 2^64 sources.
   */
  static sourceKey(address: string): string {
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
    if (mapped) return mapped[1]!;
    if (isIP(address) !== 6) return address;
    return `${ipv6Hextets(address).slice(0, 4).map((hextet) => hextet.toString(16)).join(':')}::/64`;
  }

  /** The per-contact key: the e-mail lower-cased, else the phone's digits. */
  static contactKey(contact: { email?: string; phone?: string }): string {
    if (contact.email) return `email:${contact.email.trim().toLowerCase()}`;
    return `phone:${(contact.phone ?? '').replace(/\D/g, '')}`;
  }

  async #take(limiter: RateLimiterMemory, key: string, limit: 'source' | 'contact' | 'status', message: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new AppError('rate_limited', message, { limit, retryAfterSeconds });
    }
  }
}
