import { z } from 'zod';

export const LoginBody = z.object({
  email: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(1024),
});
export type LoginBody = z.infer<typeof LoginBody>;

export const PresenceBody = z.object({ presence: z.enum(['online', 'away', 'offline']) });
export type PresenceBody = z.infer<typeof PresenceBody>;
