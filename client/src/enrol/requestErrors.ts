import { EnrolmentApiError } from './EnrolmentApiError.ts';
import type { FieldErrors } from './FieldErrors.ts';
import type { TextKey } from './texts.ts';
import type { TextParams, Translator } from './Translator.ts';

/**
 * Shows why a request failed: the fields the server named by those fields (and a summary), too many
 * attempts, no connection, or the server's own message. The caller handles what is particular to
 * it first (the camera check's verdict, an invalid status link).
 */
export function showRequestError(translator: Translator, errors: FieldErrors, general: HTMLElement, error: unknown): void {
  const say = (key: TextKey, params?: TextParams): void => {
    translator.text(general, key, params);
    general.hidden = false;
  };
  if (!(error instanceof EnrolmentApiError)) return say('err.server');
  if (error.status === 0) return say('err.network');
  if (error.status === 429 || error.code === 'rate_limited') {
    const minutes = Math.max(1, Math.ceil((error.retryAfterSeconds ?? 60) / 60));
    if (error.details.limit === 'checks') return say('err.busy');
    if (error.details.limit === 'contact') return say('err.rateLimitedContact', { minutes });
    return error.retryAfterSeconds ? say('err.rateLimitedIn', { minutes }) : say('err.rateLimited');
  }
  if (error.details.closed === true) return say('err.closed');
  // The address guard's refusals, by the URL field, in the page's words.
  const { reason, field } = error.details;
  if (typeof field === 'string' && (reason === 'address' || reason === 'port' || reason === 'scheme')) {
    errors.show(field, reason === 'address' ? 'err.urlAddress' : reason === 'port' ? 'err.urlPort' : 'err.urlScheme');
    if (general.hidden) say('err.summary');
    errors.focusFirst();
    return;
  }
  const issues = error.issues;
  if (issues.length > 0) {
    const placed = errors.showServer(issues);
    if (placed > 0 && general.hidden) say('err.summary');
    errors.focusFirst();
    return;
  }
  if (error.status >= 500) return say('err.server');
  say('err.refused', { message: error.message });
}
