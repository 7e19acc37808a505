/**
 * The console's REST calls: JSON (or text, e.g. CSV) over fetch with the session's bearer token,
 * same origin, never cached. A refused request throws ApiError with the server's
 * `{error:{code,message}}` (the message is what the user sees); a network failure throws ApiError
 * 'network'.
 */
import type { ApiErrorBody } from '../../server/signalling/protocol.ts';

/** A request the server refused (its code and message), or a local failure ('network'). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A request body: JSON, or text of a content type (CSV imports). */
export type RequestBody = { json: unknown } | { text: string; contentType: string };

export class RestClient {
  /** `getToken` is read at every request (the session refreshes it). */
  constructor(private readonly getToken: () => string | undefined) {}

  async call<T>(method: string, path: string, body?: RequestBody): Promise<T> {
    const token = this.getToken();
    if (!token) throw new ApiError('unauthenticated', 'not signed in', 401);
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${token}` };
    let payload: string | undefined;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers['content-type'] = body.contentType;
      payload = body.text;
    }
    let response: Response;
    try {
      response = await fetch(path, { method, headers, ...(payload !== undefined && { body: payload }), credentials: 'same-origin', cache: 'no-store' });
    } catch {
      throw new ApiError('network', 'the server could not be reached', 0);
    }
    const answer = (await response.json().catch(() => undefined)) as ({ error?: ApiErrorBody } & Record<string, unknown>) | undefined;
    if (!response.ok || !answer || typeof answer !== 'object' || answer.error) {
      const error = answer?.error;
      throw new ApiError(error?.code ?? `http_${response.status}`, error?.message ?? `the server answered HTTP ${response.status}`, response.status);
    }
    return answer as T;
  }
}
