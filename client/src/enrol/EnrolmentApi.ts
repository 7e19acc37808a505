/**
 * The public REST calls of the citizen program (server/enrolment/enrolmentSchemas.ts, types only):
 * no account, same origin, never cached. The owner's status token travels in the X-Status-Token
 * header only. A refusal throws EnrolmentApiError with the server's `{error: {code, message, details}}`.
 */
import type {
  AgreementView,
  EnrolmentReceipt,
  EnrolmentSubmit,
  OwnerChange,
  OwnerStatusView,
} from '../../../server/enrolment/enrolmentSchemas.ts';
import { EnrolmentApiError } from './EnrolmentApiError.ts';
import type { Language } from './texts.ts';

/** The camera check takes up to ~10 s; leave room for a slow phone network on top. */
const TIMEOUT_MS = 45_000;

export class EnrolmentApi {
  agreement(language: Language): Promise<AgreementView> {
    return this.#call('GET', `/api/enrolment/agreement?lang=${encodeURIComponent(language)}`);
  }

  submit(body: EnrolmentSubmit): Promise<EnrolmentReceipt> {
    return this.#call('POST', '/api/enrolment', { body });
  }

  status(token: string): Promise<OwnerStatusView> {
    return this.#call('GET', '/api/enrolment/status', { token });
  }

  change(token: string, change: OwnerChange): Promise<OwnerStatusView> {
    return this.#call('PATCH', '/api/enrolment/status', { token, body: change });
  }

  withdraw(token: string, reason?: string): Promise<OwnerStatusView> {
    return this.#call('POST', '/api/enrolment/withdraw', { token, body: reason ? { reason } : {} });
  }

  async #call<T>(method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token !== undefined) headers['x-status-token'] = options.token;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch {
      throw new EnrolmentApiError('network', 'the server could not be reached', 0);
    }
    const answer: unknown = await response.json().catch(() => undefined);
    if (response.ok && answer && typeof answer === 'object') return answer as T;
    throw toError(response, answer);
  }
}

function toError(response: Response, answer: unknown): EnrolmentApiError {
  // The server wraps its errors as {error: {...}}; a bare {code, message} is read as well.
  const outer = answer && typeof answer === 'object' ? (answer as Record<string, unknown>) : {};
  const body = (outer.error && typeof outer.error === 'object' ? outer.error : outer) as { code?: unknown; message?: unknown; details?: unknown };
  const details = body.details && typeof body.details === 'object' ? (body.details as Record<string, unknown>) : {};
  const header = Number(response.headers.get('retry-after'));
  const retryAfter = Number.isFinite(header) && header > 0 ? header : typeof details.retryAfterSeconds === 'number' ? details.retryAfterSeconds : undefined;
  return new EnrolmentApiError(
    typeof body.code === 'string' ? body.code : `http_${response.status}`,
    typeof body.message === 'string' ? body.message : `HTTP ${response.status}`,
    response.status,
    details,
    retryAfter,
  );
}
