import { randomBytes } from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { Logger } from '../logging/createLogger.ts';
import { AppError } from '../errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { UserRepository } from './UserRepository.ts';
import type { UserPatch, UserRecord } from './UserRecord.ts';
import { cameraAreas } from '../catalog/CameraRecord.ts';
import { roles } from '../auth/Identity.ts';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../auth/passwords.ts';

const password = z.string().min(12, 'at least 12 characters').max(256);
const assignments = {
  areas: z.array(z.enum(cameraAreas)).max(2),
  municipalities: z.array(z.string().trim().min(1).max(100)).max(500),
};

export const userCreateSchema = z.strictObject({
  username: z.string().trim().toLowerCase().regex(/^[a-z0-9._-]{3,64}$/, 'letters, digits, ".", "_" and "-" (3-64)'),
  displayName: z.string().trim().min(1).max(200),
  role: z.enum(roles),
  areas: assignments.areas.default([]),
  municipalities: assignments.municipalities.default([]),
  password,
});

export const userPatchSchema = z
  .strictObject({
    displayName: z.string().trim().min(1).max(200),
    role: z.enum(roles),
    areas: assignments.areas,
    municipalities: assignments.municipalities,
    disabled: z.boolean(),
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to change');

export const passwordResetSchema = z.strictObject({ password });
export const loginSchema = z.strictObject({ username: z.string().min(1).max(200), password: z.string().min(1).max(256) });

export type UserView = Omit<UserRecord, 'passwordHash' | 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

export type UserServiceEvents = {
  /** A user's record changed; `rightsChanged` when role, assignments or disabling did. */
  changed: [{ user: UserRecord; rightsChanged: boolean }];
};

/** The same answer for a wrong password, an unknown user and a disabled user. */
const LOGIN_REFUSED = 'wrong username or password';

/** Users: sign-in with rate limits, administration, and a cache the policy reads on every request. */
export class UserService extends TypedEmitter<UserServiceEvents> {
  readonly #cache = new Map<string, UserRecord>();
  readonly #perUser = new RateLimiterMemory({ points: 5, duration: 15 * 60, keyPrefix: 'login-user' });
  readonly #perIp = new RateLimiterMemory({ points: 30, duration: 15 * 60, keyPrefix: 'login-ip' });

  private constructor(
    readonly repository: UserRepository,
    private readonly logger: Logger,
  ) {
    super();
  }

  static async create(repository: UserRepository, logger: Logger): Promise<UserService> {
    const service = new UserService(repository, logger);
    for (const user of await repository.list()) service.#cache.set(user.id, user);
    return service;
  }

  /** The current record of a signed-in user, or unauthenticated when it is gone or disabled. */
  current(userId: string): UserRecord {
    const user = this.#cache.get(userId);
    if (!user || user.disabled) throw new AppError('unauthenticated', 'this account is disabled or no longer exists');
    return user;
  }

  async login(username: string, candidate: string, ip: string): Promise<UserRecord> {
    const name = username.trim().toLowerCase();
    await this.#limit(this.#perIp, ip);
    await this.#limit(this.#perUser, name);
    const user = await this.repository.findByUsername(name);
    const valid = await verifyPassword(candidate, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !valid || user.disabled) throw new AppError('unauthenticated', LOGIN_REFUSED);
    await this.#perUser.delete(name);
    return user;
  }

  async createUser(input: z.infer<typeof userCreateSchema>): Promise<UserRecord> {
    const user = await this.repository.insert({
      username: input.username,
      displayName: input.displayName,
      role: input.role,
      areas: input.areas,
      municipalities: input.municipalities,
      disabled: false,
      passwordHash: await hashPassword(input.password),
    });
    this.#cache.set(user.id, user);
    return user;
  }

  async updateUser(id: string, patch: z.infer<typeof userPatchSchema>): Promise<UserRecord> {
    const rightsChanged = ['role', 'areas', 'municipalities', 'disabled'].some((key) => key in patch);
    return this.#update(id, patch, rightsChanged);
  }

  async resetPassword(id: string, newPassword: string): Promise<UserRecord> {
    return this.#update(id, { passwordHash: await hashPassword(newPassword) }, false);
  }

  get(id: string): UserRecord {
    const user = this.#cache.get(id);
    if (!user) throw new AppError('not_found', `no user ${id}`);
    return user;
  }

  list(): UserRecord[] {
    return [...this.#cache.values()].sort((a, b) => a.username.localeCompare(b.username));
  }

  view(user: UserRecord): UserView {
    const { passwordHash: _hash, createdAt, updatedAt, ...rest } = user;
    return { ...rest, createdAt: createdAt.toISOString(), updatedAt: updatedAt.toISOString() };
  }

  /**
   * On a first run outside production, a demo admin and a demo operator with generated passwords
   * (returned once, for printing). Nothing when any user exists.
   */
  async ensureDemoUsers(): Promise<Array<{ username: string; password: string; role: string }> | undefined> {
    if ((await this.repository.count()) > 0) return undefined;
    const made = [];
    for (const [username, role, displayName] of [['admin', 'admin', 'Demo administrator'], ['operator', 'operator', 'Demo operator']] as const) {
      const secret = randomBytes(12).toString('base64url');
      await this.createUser({ username, displayName, role, areas: ['agency', 'citizen'], municipalities: [], password: secret });
      made.push({ username, password: secret, role });
    }
    return made;
  }

  async #update(id: string, patch: UserPatch, rightsChanged: boolean): Promise<UserRecord> {
    const user = await this.repository.update(id, patch, rightsChanged);
    if (!user) throw new AppError('not_found', `no user ${id}`);
    this.#cache.set(user.id, user);
    this.logger.info({ user: user.username, rightsChanged }, 'user changed');
    this.emit('changed', { user, rightsChanged });
    return user;
  }

  async #limit(limiter: RateLimiterMemory, key: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      const retry = Math.ceil(((rejection as { msBeforeNext?: number }).msBeforeNext ?? 60_000) / 1000);
      throw new AppError('rate_limited', `too many sign-in attempts: try again in ${retry} s`, { retryAfterSeconds: retry });
    }
  }
}
