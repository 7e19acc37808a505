/**
 * The admin's review of citizen camera enrolments (issue 26) as the console uses it: the pending
 * enrolments oldest first, approve, reject, check the camera again, a new status link for the
 * owner. JSON over fetch with the session's bearer token (RestClient); a refused request throws
 * ApiError with the server's message.
 *
 * The shapes are the server's (server/enrolment/enrolmentSchemas.ts, types only). A ReviewItem
 * carries the owner's personal data: it is shown to the admin, never logged.
 */
import type { ReviewItem, StatusLink } from '../../server/enrolment/enrolmentSchemas.ts';
import { RestClient } from './RestClient.ts';

export type { ReviewItem, StatusLink };
export type ReviewCheck = NonNullable<ReviewItem['check']>;
export type ReviewDuplicate = ReviewItem['duplicates'][number];

export interface ReviewList {
  items: ReviewItem[];
  total: number;
  offset: number;
  limit: number;
}

export class ReviewApi {
  readonly #rest: RestClient;

  /** `getToken` is read at every request (the session refreshes it). */
  constructor(getToken: () => string | undefined) {
    this.#rest = new RestClient(getToken);
  }

  /** The pending enrolments, oldest first. */
  pending(limit: number): Promise<ReviewList> {
    return this.#rest.call('GET', `/api/enrolments?status=pending&limit=${limit}`);
  }

  /** `url`: the (masked) URL the admin reviewed; the server refuses (409) if the owner changed it since. */
  approve(reference: string, municipality: string, url: string): Promise<ReviewItem> {
    return this.#post(reference, 'approve', { municipality, url });
  }

  reject(reference: string, reason: string): Promise<ReviewItem> {
    return this.#post(reference, 'reject', { reason });
  }

  /** Checks the camera again now (reachable, wrong credentials, unreachable). */
  check(reference: string): Promise<ReviewItem> {
    return this.#post(reference, 'check');
  }

  /** A new status link for the owner: the old one stops working. */
  statusLink(reference: string): Promise<StatusLink> {
    return this.#post(reference, 'status-link');
  }

  /** Always a JSON body (`{}` when there is nothing to say), as the other POST routes take. */
  #post<T>(reference: string, action: string, body: Record<string, unknown> = {}): Promise<T> {
    return this.#rest.call<T>('POST', `/api/enrolments/${encodeURIComponent(reference)}/${action}`, { json: body });
  }
}
