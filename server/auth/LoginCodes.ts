import { randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors/AppError.ts';
import type { Identity } from './Identity.ts';

interface PendingCode {
  identity: Omit<Identity, 'authTime'>;
  expiresAt: number;
}

/** Single-use sign-in codes (the demo console link): each works once, and only for a few minutes. */
export class LoginCodes {
  readonly #codes = new Map<string, PendingCode>();

  constructor(private readonly ttlMs: number) {}

  issue(identity: Omit<Identity, 'authTime'>): string {
    this.#sweep();
    const code = randomBytes(24).toString('base64url');
    this.#codes.set(code, { identity, expiresAt: Date.now() + this.ttlMs });
    return code;
  }

  redeem(code: string): Identity {
    this.#sweep();
    for (const [known, pending] of this.#codes) {
      const a = Buffer.from(known);
      const b = Buffer.from(code);
      if (a.length === b.length && timingSafeEqual(a, b)) {
        this.#codes.delete(known);
        return { ...pending.identity, authTime: Math.floor(Date.now() / 1000) };
      }
    }
    throw new AppError('unauthenticated', 'this sign-in link is not valid: it was used already or has expired');
  }

  #sweep(): void {
    const now = Date.now();
    for (const [code, pending] of this.#codes) if (pending.expiresAt <= now) this.#codes.delete(code);
  }
}
