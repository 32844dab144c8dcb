import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';

/**
 * Agents whose access just changed (deactivated, role or teams changed). The realtime
 * gateway drops their sockets on every replica so they reconnect with fresh rooms;
 * HTTP needs nothing, the guard re-reads the agent per request.
 */
@Injectable()
export class AgentChanges {
  readonly changed$ = new Subject<string>();
}
