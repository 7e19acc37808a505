/** The closed set of error codes clients see, each with its HTTP status. */
export const errorCodes = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  /** A handshake presented the resume token of another user's console session. */
  resume_refused: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  invalid_state: 409,
  incompatible: 422,
  unprocessable: 422,
  rate_limited: 429,
  /** A tile refused: every stream of the camera would take the session over its role's bandwidth cap. */
  bandwidth_cap: 429,
  camera_unavailable: 502,
  camera_timeout: 504,
  shutting_down: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

/** An error with a stable code and HTTP status; its message is safe to show (no secrets). */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return errorCodes[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details && { details: this.details }) };
  }
}
