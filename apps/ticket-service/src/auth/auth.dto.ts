import { ApiDateTime, ApiUuid } from '@oq/platform';
import { z } from 'zod';

export const LoginBody = z.object({
  email: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(1024),
});
export type LoginBody = z.infer<typeof LoginBody>;

export const PresenceBody = z.object({ presence: z.enum(['online', 'away', 'offline']) });
export type PresenceBody = z.infer<typeof PresenceBody>;

export const AgentProfileView = z
  .object({
    id: ApiUuid,
    email: z.string(),
    name: z.string(),
    role: z.enum(['admin', 'agent']),
    presence: z.enum(['online', 'away', 'offline']),
    presenceAt: ApiDateTime.nullable(),
    teams: z.array(z.object({ id: ApiUuid, name: z.string() })),
  })
  .meta({ id: 'AgentProfile' });

export const LoginResponse = z
  .object({
    /** A bearer JWT for `Authorization: Bearer …`. */
    accessToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresAt: ApiDateTime,
    agent: AgentProfileView,
  })
  .meta({ id: 'Login' });
