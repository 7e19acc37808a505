/** One field the server refused: its path in the request body (`camera.url`) and its words. */
export interface ServerIssue {
  path: string;
  message: string;
}

/**
 * A request the server refused, with its `{code, message, details?}`, or a local failure: code
 * 'network' (status 0) when the server could not be reached or did not answer in time.
 */
export class EnrolmentApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details: Record<string, unknown> = {},
    /** Seconds to wait before trying again (429), from the Retry-After header or the details. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'EnrolmentApiError';
  }

  /** details.check of a 422: the camera check's verdict when that is why the request was refused. */
  get check(): 'unauthorized' | 'unreachable' | undefined {
    const check = this.details.check;
    return check === 'unauthorized' || check === 'unreachable' ? check : undefined;
  }

  /**
   * The fields the server named: details.issues (`{path: ['camera','url'] | 'camera.url', message}`
   * or `'camera.url: …'`), or else the message's own `body.camera.url: …; body.address: …` list.
   */
  get issues(): ServerIssue[] {
    const raw = this.details.issues;
    if (Array.isArray(raw)) return raw.flatMap((issue) => toIssue(issue));
    if (this.code !== 'invalid_request' && this.code !== 'unprocessable') return [];
    return this.message.split(/;\s+/).flatMap((part) => toIssue(part));
  }
}

function toIssue(raw: unknown): ServerIssue[] {
  if (typeof raw === 'string') {
    const match = /^([A-Za-z][\w.-]*):\s*(.*)$/s.exec(raw.trim());
    return match ? [{ path: normalisePath(match[1] ?? ''), message: match[2] ?? '' }] : [];
  }
  if (raw && typeof raw === 'object') {
    const { path, message } = raw as { path?: unknown; message?: unknown };
    const joined = Array.isArray(path) ? path.map(String).join('.') : typeof path === 'string' ? path : '';
    return [{ path: normalisePath(joined), message: typeof message === 'string' ? message : '' }];
  }
  return [];
}

/** `body.camera.url` -> `camera.url` (parseOr400 names the request part first). */
function normalisePath(path: string): string {
  return path.replace(/^(body|query|headers?)(\.|$)/, '');
}
