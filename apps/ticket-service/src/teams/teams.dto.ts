import { ApiDateTime, ApiUuid } from '@oq/platform';
import { z } from 'zod';

export const TeamBody = z.object({ name: z.string().trim().min(1).max(200) });
export type TeamBody = z.infer<typeof TeamBody>;

export const TeamView = z
  .object({ id: ApiUuid, name: z.string(), memberCount: z.number().int().min(0), createdAt: ApiDateTime })
  .meta({ id: 'Team' });

export const CategoryBody = z.object({ name: z.string().trim().min(1).max(100) });

export const CategoryView = z.object({ id: ApiUuid, name: z.string(), active: z.boolean() }).meta({ id: 'Category' });
