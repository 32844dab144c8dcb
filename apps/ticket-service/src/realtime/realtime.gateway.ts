import { Inject, OnApplicationShutdown } from '@nestjs/common';
import { OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { CHAT_CUSTOMER_TYPING_CHANNEL, ChatCustomerTyping, TicketEvent } from '@oq/contracts';
import { ConversationRepository } from '@oq/database';
import { CONFIG, GatewayRedis, LOGGER, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { Subscription } from 'rxjs';
import { Server, Socket } from 'socket.io';
import { AgentChanges } from '../agents/agent-changes';
import { AuthenticatedAgent } from '../auth/authenticated-agent';
import { TokenService } from '../auth/token.service';
import { Config } from '../config';
import { TicketEventBus } from '../outbox/outbox.service';
import { ticketEventRooms, roomsOf } from './rooms';

/** The socket.io event every ticket/message/SLA event is pushed under; the payload is the TicketEvent. */
export const TICKET_EVENT = 'ticket.event';

/** Customer typing on a chat ticket: `{ ticketId, typing, at }`. */
export const CUSTOMER_TYPING_EVENT = 'customer.typing';

/** setTimeout's ceiling (~24.8 days); tokens never live that long, but do not overflow into "now". */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Agents' live updates. Connect to `/realtime` with `auth: { token: <JWT> }`.
 * A socket joins the rooms of what its agent may see (see rooms.ts, which derives them from
 * the one visibility rule) and receives every ticket event under `ticket.event`.
 * The Redis adapter carries emits between replicas, so the relay on any replica reaches
 * sockets held by all of them. A socket is dropped when its token expires and, on every
 * replica, when its agent is deactivated, changes role or teams (it reconnects with fresh rooms)
 * or changes password (its token is then refused).
 * Presence follows the sockets: the first connection turns an offline agent online, the
 * last disconnection (across replicas) turns them offline; "away" is only set by the agent.
 */
@WebSocketGateway({ path: '/realtime', cors: { origin: true }, serveClient: false })
export class RealtimeGateway implements OnGatewayInit, OnApplicationShutdown {
  @WebSocketServer() private server!: Server;
  private readonly connections: GatewayRedis;
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly tokens: TokenService,
    private readonly bus: TicketEventBus,
    private readonly agentChanges: AgentChanges,
    private readonly conversations: ConversationRepository,
    @Inject(REDIS) redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.connections = new GatewayRedis(redis, logger);
  }

  afterInit(server: Server) {
    // Keyed by the deployment's prefix so separate deployments (and test files) sharing a Redis never cross.
    server.adapter(this.connections.adapter({ key: `${this.config.QUEUE_PREFIX}realtime` }, 'realtime redis'));
    server.use((socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (err: Error) => next(err),
      );
    });
    void this.connections.subscribe(
      CHAT_CUSTOMER_TYPING_CHANNEL,
      'customer-typing subscriber',
      (raw) => void this.relayCustomerTyping(raw),
    );
    this.subscriptions.push(
      this.bus.events$.subscribe((event) => this.fanOut(event)),
      this.agentChanges.changed$.subscribe((agentId) => {
        // Reaches the agent's sockets on every replica through the adapter.
        this.server.in(`agent:${agentId}`).disconnectSockets(true);
      }),
    );
  }

  private async authenticate(socket: Socket): Promise<void> {
    const token: unknown = socket.handshake.auth?.token;
    const result = typeof token === 'string' ? await this.tokens.authenticate(token) : null;
    if (!result?.ok) throw new Error(result ? `unauthorized: ${result.reason}` : 'unauthorized');
    const agent: AuthenticatedAgent = result.agent;
    (socket.data as { agent?: AuthenticatedAgent }).agent = agent;
    await socket.join(roomsOf(agent));
    const expiry = setTimeout(
      () => socket.disconnect(true),
      Math.min(MAX_TIMER_MS, Math.max(0, result.exp * 1000 - Date.now())),
    );
    socket.once('disconnect', () => {
      clearTimeout(expiry);
      void this.markOfflineIfGone(agent.id);
    });
    // Connecting makes an offline agent online; an explicit "away" is left alone.
    await this.conversations.markAgentOnline(agent.id);
    this.logger.debug({ agentId: agent.id, socketId: socket.id }, 'agent socket connected');
  }

  /** The agent's last socket on any replica went away: they are offline. */
  private async markOfflineIfGone(agentId: string) {
    try {
      const remaining = await this.server.in(`agent:${agentId}`).fetchSockets();
      if (remaining.length) return;
      await this.conversations.markAgentOffline(agentId);
    } catch (err) {
      // Shutting down, or a replica did not answer in time: presence is advisory, keep the last value.
      this.logger.debug({ agentId, err: (err as Error).message }, 'presence not updated on disconnect');
    }
  }

  private fanOut(event: TicketEvent) {
    try {
      this.server.to(ticketEventRooms(event)).emit(TICKET_EVENT, event);
    } catch (err) {
      this.logger.warn({ eventId: event.eventId, err: (err as Error).message }, 'realtime emit failed');
    }
  }

  /**
   * chat-service announces customer typing per (inbox, identity); the conversation names the
   * ticket, and the ticket's rooms are the same as for its events. Every replica hears the
   * announcement, so each emits to its own sockets only (`local`), never through the adapter —
   * otherwise an agent would get one copy per replica.
   */
  private async relayCustomerTyping(raw: string) {
    try {
      const typing = ChatCustomerTyping.parse(JSON.parse(raw));
      const row = await this.conversations.ticketOf(typing.inboxId, typing.identity.kind, typing.identity.value);
      if (!row) return;
      this.server.local
        .to(ticketEventRooms({ teamId: row.team_id, assigneeId: row.assignee_id }))
        .emit(CUSTOMER_TYPING_EVENT, { ticketId: row.id, typing: typing.typing, at: typing.at });
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'customer typing not relayed');
    }
  }

  async onApplicationShutdown() {
    for (const s of this.subscriptions) s.unsubscribe();
    await this.connections.close();
  }
}
