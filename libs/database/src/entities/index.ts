import { BlobEntity } from './blob.entity';

export { BlobEntity };

export const ENTITIES = [BlobEntity];
