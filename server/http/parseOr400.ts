import type { z } from 'zod';
import { AppError } from '../errors/AppError.ts';

/**
 * Validates a request part with zod, or throws naming the fields: invalid_request (400) for a
 * malformed request, unprocessable (422) when it is well-formed but breaks a rule between fields.
 * The message lists `part.field: problem`; details.issues has each as `{ path, message }`, `path`
 * the field's place inside the part (e.g. ['camera', 'url']), for forms to show it by the field.
 */
export function parseOr400<T>(schema: z.ZodType<T, unknown>, value: unknown, part: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${[part, ...issue.path.map(String)].join('.')}: ${issue.message}`);
  const onlyRules = parsed.error.issues.every((issue) => issue.code === 'custom');
  const issues = parsed.error.issues.slice(0, 50).map((issue) => ({ path: issue.path.map(String), message: issue.message }));
  throw new AppError(onlyRules ? 'unprocessable' : 'invalid_request', problems.join('; '), { part, issues });
}
