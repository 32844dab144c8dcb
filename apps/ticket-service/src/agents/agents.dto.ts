import { Uuid } from '@oq/contracts';
import { z } from 'zod';
import { AgentProfileView } from '../auth/auth.dto';

const Password = z.string().min(10, 'password must be at least 10 characters').max(1024);

export const CreateAgentBody = z.object({
  email: z.email().max(320),
  name: z.string().trim().min(1).max(200),
  password: Password,
  role: z.enum(['admin', 'agent']).default('agent'),
  teamIds: z.array(Uuid).max(100).default([]),
});
export type CreateAgentBody = z.infer<typeof CreateAgentBody>;

export const UpdateAgentBody = z
  .object({
    email: z.email().max(320),
    name: z.string().trim().min(1).max(200),
    password: Password,
    role: z.enum(['admin', 'agent']),
    /** Replaces the agent's team memberships. */
    teamIds: z.array(Uuid).max(100),
    active: z.boolean(),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to update' });
export type UpdateAgentBody = z.infer<typeof UpdateAgentBody>;

/** An agent as the API shows it (never the password hash). */
export const AgentView = AgentProfileView.extend({ active: z.boolean() }).meta({ id: 'Agent' });
