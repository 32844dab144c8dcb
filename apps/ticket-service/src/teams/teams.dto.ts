import { z } from 'zod';

export const TeamBody = z.object({ name: z.string().trim().min(1).max(200) });
export type TeamBody = z.infer<typeof TeamBody>;
