import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';

/**
 * Agents whose access just changed (deactivated, role, teams or password changed). The
 * realtime gateway drops their sockets on every replica so they reconnect with fresh rooms
 * (or, after a password change, are refused); HTTP needs nothing, the guard re-reads the
 * agent per request.
 */
@Injectable()
export class AgentChanges {
  readonly changed$ = new Subject<string>();
}
