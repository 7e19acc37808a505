export const roles = ['admin', 'operator', 'supervisor', 'investigator'] as const;
export type Role = (typeof roles)[number];

/** Who is calling, as carried by a verified token. */
export interface Identity {
  userId: string;
  role: Role;
  /** When the sign-in happened (epoch seconds); refreshes never move it. */
  authTime: number;
  /** The sign-in session (the token's `sid`); every token of one sign-in, refreshed or not, carries the same. */
  sessionId?: string;
}
