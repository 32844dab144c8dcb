/** Who is calling, as loaded fresh from the database for this request or socket. */
export interface AuthenticatedAgent {
  id: string;
  role: 'admin' | 'agent';
  teamIds: string[];
}
