import { TicketEvent } from '@oq/contracts';
import { AuthenticatedAgent } from '../auth/authenticated-agent';

/**
 * Socket rooms mirror the visibility rule (libs/database repositories/visibility.ts):
 * an admin sees everything (room `admins`), an agent sees their teams' tickets
 * (`team:<id>`) and tickets assigned to them (`agent:<id>`). A ticket event goes to
 * exactly the rooms of those who may see that ticket, so `canSeeTicket(agent, event)`
 * holds for every socket that receives it.
 */
export function roomsOf(agent: AuthenticatedAgent): string[] {
  const rooms = [`agent:${agent.id}`, ...agent.teamIds.map((t) => `team:${t}`)];
  if (agent.role === 'admin') rooms.push('admins');
  return rooms;
}

export function ticketEventRooms(event: Pick<TicketEvent, 'teamId' | 'assigneeId'>): string[] {
  const rooms = ['admins'];
  if (event.teamId) rooms.push(`team:${event.teamId}`);
  if (event.assigneeId) rooms.push(`agent:${event.assigneeId}`);
  return rooms;
}
