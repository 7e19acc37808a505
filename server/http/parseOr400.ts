import type { z } from 'zod';
import { AppError } from '../errors/AppError.ts';

/**
 * Validates a request part with zod, or throws naming the fields: invalid_request (400) for a
 * malformed request, unprocessable (422) when it is well-formed but breaks a rule between fields.
 */
export function parseOr400<T>(schema: z.ZodType<T, unknown>, value: unknown, part: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${[part, ...issue.path.map(String)].join('.')}: ${issue.message}`);
  const onlyRules = parsed.error.issues.every((issue) => issue.code === 'custom');
  throw new AppError(onlyRules ? 'unprocessable' : 'invalid_request', problems.join('; '));
}
