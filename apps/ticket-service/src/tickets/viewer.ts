import { AuthenticatedAgent } from '../auth/authenticated-agent';

/** The calling agent, as the auth guard loaded it (structurally libs/database's visibility Viewer). */
export type Viewer = AuthenticatedAgent;
