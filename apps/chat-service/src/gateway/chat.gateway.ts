import { Inject, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import {
  AttachmentRef,
  CHAT_AGENT_TYPING_CHANNEL,
  CHAT_CUSTOMER_TYPING_CHANNEL,
  ChatAgentTyping,
  ChatCustomerTyping,
  deliveryReportJobId,
  INBOUND_MESSAGE_VERSION,
  inboundJobId,
  JobName,
  maskCardNumbers,
  QueueName,
} from '@oq/contracts';
import { CONFIG, GatewayRedis, LOGGER, QueueService, REDIS, TrustedProxies, trustedProxies } from '@oq/platform';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { DefaultEventsMap, Server, Socket as IoSocket } from 'socket.io';
import { z } from 'zod';
import { AvailabilityService } from '../availability/availability.service';
import { Config } from '../config';
import { Customer, CustomerAuthError, CustomerCredentials, roomOf } from '../identity/customer';
import { CustomerAuthService } from '../identity/customer-auth.service';
import { AttachmentService } from '../uploads/attachment.service';
import { clientIp } from './client-ip';
import { RateLimiter } from './rate-limiter.service';

/** What a customer's socket carries once authenticated (set in the handshake middleware). */
interface CustomerSocketData {
  customer: Customer;
  ip: string;
  /** Typing is chatty: the last state sent, to drop repeats within a second. */
  lastTyping?: { typing: boolean; at: number };
}
type Socket = IoSocket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, CustomerSocketData>;
type CustomerServer = Server<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, CustomerSocketData>;

/** The customer socket.io path (agents use ticket-service's `/realtime`); REST lives beside it under /chat/:inboxId. */
export const CHAT_SOCKET_PATH = '/chat/socket';

const SendMessage = z.object({
  clientId: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, dot, dash and underscore only'),
  text: z.string().max(100_000).default(''),
  attachments: z.array(AttachmentRef).max(10).default([]),
});
const ReadReceipt = z.object({ messageIds: z.array(z.uuid()).min(1).max(100) });
const Typing = z.object({ typing: z.boolean() });

export interface SendAck {
  ok: true;
  /** The inbound job id: stable for a client id, the message's id until ticket-service stores it. */
  id: string;
  clientId: string;
  externalId: string;
  receivedAt: string;
  duplicate: boolean;
}
export interface ErrorAck {
  ok: false;
  error: string;
  message: string;
}

type Ack = (res: SendAck | ErrorAck | { ok: true }) => void;

const ACK_TTL_SECONDS = 24 * 3600;
/** Which customer room a pushed reply went to, so read receipts are accepted only from its recipient. */
const MESSAGE_ROOM_TTL_SECONDS = 30 * 24 * 3600;

/**
 * The customer-facing socket.io server. Any replica may hold any customer's
 * socket: replies are emitted to rooms through the Redis adapter, so the
 * replica that holds the socket delivers.
 */
@WebSocketGateway({
  path: CHAT_SOCKET_PATH,
  serveClient: false,
  maxHttpBufferSize: 256 * 1024,
  pingInterval: 25_000,
  pingTimeout: 20_000,
  // Origins are checked per inbox in the middleware below; CORS must let the handshake through to it.
  cors: { origin: true, credentials: false },
})
export class ChatGateway
  implements OnGatewayInit<CustomerServer>, OnGatewayConnection<Socket>, OnApplicationBootstrap, OnApplicationShutdown
{
  @WebSocketServer() io!: CustomerServer;
  private readonly connections: GatewayRedis;
  /** Agents' typing reaches this replica once this resolves. */
  private agentTyping?: Promise<void>;
  private readonly trusted: TrustedProxies;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly auth: CustomerAuthService,
    private readonly availability: AvailabilityService,
    private readonly limiter: RateLimiter,
    private readonly queues: QueueService,
    private readonly attachments: AttachmentService,
  ) {
    this.trusted = trustedProxies(config.TRUSTED_PROXIES);
    this.connections = new GatewayRedis(redis, logger);
  }

  afterInit(server: CustomerServer) {
    // The adapter's channels carry the queue prefix: test stacks sharing a Redis stay apart.
    server.adapter(
      this.connections.adapter({ key: `oq-chat${this.config.QUEUE_PREFIX}`, requestsTimeout: 3000 }, 'chat redis'),
    );
    server.use((socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (err: Error) => {
          const e = new Error(err.message) as Error & { data?: unknown };
          e.data = { code: err instanceof CustomerAuthError ? err.code : 'error' };
          next(e);
        },
      );
    });
    this.agentTyping = this.connections.subscribe(CHAT_AGENT_TYPING_CHANNEL, 'agent-typing subscriber', (raw) =>
      this.onAgentTyping(raw),
    );
  }

  /** afterInit is not awaited: the app is up only once agents' typing is subscribed (and not if it cannot be). */
  async onApplicationBootstrap() {
    await this.agentTyping;
  }

  /** Nest has closed the server (and its adapter) by now: only the Redis connections are left. */
  async onApplicationShutdown() {
    await this.connections.close();
  }

  private clientIp(socket: Socket): string {
    return clientIp(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], this.trusted);
  }

  private async authenticate(socket: Socket): Promise<void> {
    const ip = this.clientIp(socket);
    if (!(await this.limiter.allow(`conn:ip:${ip}`, this.config.CHAT_IP_CONNECTS_PER_WINDOW)))
      throw new CustomerAuthError('rate_limited', 'too many connections from this address, retry later');
    const parsed = CustomerCredentials.safeParse(socket.handshake.auth ?? {});
    if (!parsed.success)
      throw new CustomerAuthError('no_identity', 'invalid handshake: inboxId and credentials are required');
    const inbox = await this.auth.inbox(parsed.data.inboxId);
    this.auth.checkOrigin(inbox, socket.handshake.headers.origin);
    socket.data.customer = await this.auth.authenticate(parsed.data);
    socket.data.ip = ip;
  }

  /** A socket through the middleware: authenticated, with its customer in `socket.data`. */
  async handleConnection(socket: Socket) {
    const customer = socket.data.customer;
    await socket.join(customer.rooms);
    socket.on('message:send', (payload: unknown, ack?: Ack) => void this.onSend(socket, payload, ack));
    socket.on('typing', (payload: unknown) => void this.onTyping(socket, payload));
    socket.on('message:read', (payload: unknown, ack?: Ack) => void this.onRead(socket, payload, ack));
    try {
      const inbox = await this.auth.inbox(customer.inboxId);
      socket.emit('session', {
        inboxId: customer.inboxId,
        identity: customer.identity,
        visitorId: customer.visitorId ?? null,
        displayName: customer.displayName ?? null,
        ...(await this.availability.of(inbox)),
      });
    } catch (err) {
      this.logger.warn({ inboxId: customer.inboxId, err: (err as Error).message }, 'chat session info failed');
    }
  }

  private async onSend(socket: Socket, payload: unknown, ack: Ack = () => undefined) {
    const customer = socket.data.customer;
    const fail = (error: string, message: string) => ack({ ok: false, error, message });
    const parsed = SendMessage.safeParse(payload);
    if (!parsed.success)
      return fail('invalid_message', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const msg = parsed.data;
    if (msg.text.length > this.config.CHAT_MAX_MESSAGE_CHARS)
      return fail('message_too_long', `text exceeds ${this.config.CHAT_MAX_MESSAGE_CHARS} characters`);
    if (!msg.text.trim() && msg.attachments.length === 0)
      return fail('invalid_message', 'text or an attachment is required');
    try {
      // Scoped by sender: one customer's client ids can never collide with (or pre-empt) another's.
      const externalId = `${customer.identity.kind}:${customer.identity.value}:${msg.clientId}`;
      const jobId = inboundJobId(customer.inboxId, externalId, 0);
      const ackKey = `${this.config.QUEUE_PREFIX}:chat:ack:${jobId}`;
      const previous = await this.redis.get(ackKey);
      if (previous) return ack({ ...(JSON.parse(previous) as SendAck), duplicate: true });

      const window = this.config.CHAT_RATE_WINDOW_SECONDS;
      const refused = await this.limiter.check([
        { key: `msg:socket:${socket.id}`, limit: this.config.CHAT_SOCKET_MESSAGES_PER_WINDOW },
        { key: `msg:ip:${socket.data.ip}`, limit: this.config.CHAT_IP_MESSAGES_PER_WINDOW },
      ]);
      if (refused) {
        const perSocket = refused === 1;
        this.logger.info({ inboxId: customer.inboxId, socket: socket.id, perSocket }, 'chat message rate limited');
        return fail(
          'rate_limited',
          perSocket
            ? `too many messages, at most ${this.config.CHAT_SOCKET_MESSAGES_PER_WINDOW} per ${window} s`
            : `too many messages from this address, at most ${this.config.CHAT_IP_MESSAGES_PER_WINDOW} per ${window} s`,
        );
      }
      for (const a of msg.attachments) {
        if (!(await this.attachments.ownedBy(customer, a)))
          return fail('invalid_attachment', `attachment ${a.sha256.slice(0, 12)}… was not uploaded by this customer`);
      }
      const now = new Date().toISOString();
      const text = maskCardNumbers(msg.text);
      await this.queues.add(
        QueueName.Inbound,
        JobName.InboundMessage,
        {
          v: INBOUND_MESSAGE_VERSION,
          inboxId: customer.inboxId,
          channel: 'chat',
          externalId,
          revision: 0,
          sourceTime: now,
          receivedAt: now,
          sender: { ...customer.identity, displayName: customer.displayName, linked: customer.linked },
          text,
          attachments: msg.attachments,
          metadata: {
            clientId: msg.clientId,
            userAgent: String(socket.handshake.headers['user-agent'] ?? '').slice(0, 300),
          },
        },
        { jobId },
      );
      const result: SendAck = {
        ok: true,
        id: jobId,
        clientId: msg.clientId,
        externalId,
        receivedAt: now,
        duplicate: false,
      };
      const stored = await this.redis.set(ackKey, JSON.stringify(result), 'EX', ACK_TTL_SECONDS, 'NX');
      if (stored === null) {
        // A concurrent resend won the race: answer exactly what it answered.
        const winner = await this.redis.get(ackKey);
        if (winner) return ack({ ...(JSON.parse(winner) as SendAck), duplicate: true });
      }
      // The customer's other tabs/devices show the message too.
      socket.to(roomOf(customer.inboxId, customer.identity)).emit('message', {
        id: jobId,
        clientId: msg.clientId,
        direction: 'inbound',
        text,
        attachments: msg.attachments,
        createdAt: now,
      });
      ack(result);
    } catch (err) {
      this.logger.error(
        { inboxId: customer.inboxId, clientId: msg.clientId, err: (err as Error).message },
        'chat message not accepted',
      );
      fail('unavailable', 'the message could not be accepted, retry with the same clientId');
    }
  }

  private async onTyping(socket: Socket, payload: unknown) {
    const parsed = Typing.safeParse(payload);
    if (!parsed.success) return;
    const customer = socket.data.customer;
    // Typing is chatty: at most one event per second and state per socket.
    const last = socket.data.lastTyping;
    if (last && last.typing === parsed.data.typing && Date.now() - last.at < 1000) return;
    socket.data.lastTyping = { typing: parsed.data.typing, at: Date.now() };
    const event: ChatCustomerTyping = {
      inboxId: customer.inboxId,
      identity: customer.identity,
      typing: parsed.data.typing,
      at: new Date().toISOString(),
    };
    await this.redis.publish(CHAT_CUSTOMER_TYPING_CHANNEL, JSON.stringify(event)).catch(() => undefined);
  }

  private onAgentTyping(raw: string) {
    try {
      const e = ChatAgentTyping.parse(JSON.parse(raw));
      // Every replica receives the pub/sub message: each emits to its own sockets only.
      this.io.local.to(roomOf(e.inboxId, e.to)).emit('typing', { typing: e.typing, agentName: e.agentName ?? null });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'invalid agent typing event');
    }
  }

  private async onRead(socket: Socket, payload: unknown, ack: Ack = () => undefined) {
    const parsed = ReadReceipt.safeParse(payload);
    if (!parsed.success)
      return ack({ ok: false, error: 'invalid_receipt', message: 'messageIds must be message uuids' });
    const customer = socket.data.customer;
    const rooms = await this.redis.mget(...parsed.data.messageIds.map((id) => this.messageRoomKey(id)));
    const now = new Date().toISOString();
    const reports = parsed.data.messageIds
      .filter((_id, i) => rooms[i] !== null && customer.rooms.includes(rooms[i]!))
      .map((messageId) => ({
        data: { v: 1 as const, inboxId: customer.inboxId, messageId, status: 'read' as const, occurredAt: now },
        jobId: deliveryReportJobId({ kind: 'read', inboxId: customer.inboxId, messageId }),
      }));
    if (reports.length) await this.queues.addBulk(QueueName.Delivery, JobName.DeliveryReport, reports);
    ack({ ok: true });
  }

  messageRoomKey(messageId: string): string {
    return `${this.config.QUEUE_PREFIX}:chat:msg-room:${messageId}`;
  }

  /**
   * Pushes to every socket of the customer, on whichever replica holds it, and says what became of
   * it: `delivered` when a client acknowledged the event, `sent` when sockets were connected but none
   * acknowledged within CHAT_DELIVERY_ACK_TIMEOUT_MS (an old SDK, a backgrounded app: the reply
   * reached the connection, and history catches the client up), `offline` when no socket of the
   * customer was connected anywhere. socket.io answers a broadcast with acks at once with no error
   * and no responses when the room is empty, and with a timeout error when a client stayed silent.
   */
  async push(room: string, messageId: string, message: unknown): Promise<'delivered' | 'sent' | 'offline'> {
    await this.redis.set(this.messageRoomKey(messageId), room, 'EX', MESSAGE_ROOM_TTL_SECONDS);
    return new Promise((resolve) => {
      this.io
        .to(room)
        .timeout(this.config.CHAT_DELIVERY_ACK_TIMEOUT_MS)
        .emit('message', message, (err: Error | null, responses: unknown[]) =>
          resolve(responses?.length ? 'delivered' : err ? 'sent' : 'offline'),
        );
    });
  }
}
