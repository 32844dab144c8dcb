import { BlobEntity } from './blob.entity';
import { TICKET_DOMAIN_ENTITIES } from './ticket-domain.entities';

export { BlobEntity };
export * from './ticket-domain.entities';

export const ENTITIES = [BlobEntity, ...TICKET_DOMAIN_ENTITIES];
