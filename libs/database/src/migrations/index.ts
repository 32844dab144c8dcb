import { Init1764000000000 } from './1764000000000-Init';

/** Listed explicitly (not globbed) so the same list works from source, dist and jest. Keep in order. */
export const MIGRATIONS = [Init1764000000000];
