import {
  BadRequestException,
  Controller,
  Get,
  HttpCode,
  HttpException,
  HttpStatus,
  NotFoundException,
  OnModuleInit,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ChatHistoryPage, isStorableText } from '@oq/contracts';
import {
  ApiContentResponse,
  ApiErrors,
  ApiRawBody,
  ApiSha256,
  ApiUuid,
  ApiZodParam,
  ApiZodQuery,
  ApiZodQueryParam,
  ApiZodResponse,
  BINARY,
  BlobTooLargeError,
  CONFIG,
  TrustedProxies,
  trustedProxies,
} from '@oq/platform';
import { applyDecorators } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { Config } from '../config';
import { clientIp } from '../gateway/client-ip';
import { RateLimiter } from '../gateway/rate-limiter.service';
import { CustomerAuthService } from '../identity/customer-auth.service';
import { customerFromRequest, httpError } from '../identity/customer-request';
import { AttachmentService } from '../uploads/attachment.service';
import { HistoryService } from './history.service';

const HistoryQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

const VisitorView = z.object({
  visitorId: ApiUuid,
  /** Send it as X-Chat-Visitor-Token (REST) or `visitorToken` (socket) to be this visitor again. */
  token: z.string(),
});

const UploadView = z.object({
  sha256: ApiSha256,
  size: z.number().int(),
  filename: z.string(),
  contentType: z.string(),
});

const INBOX_ID = ApiZodParam('inboxId', ApiUuid, 'The chat inbox id');

/** The customer credentials every REST call but POST visitors carries, and their refusals. */
const ApiCustomer = () =>
  applyDecorators(
    ApiHeader({ name: 'x-chat-visitor-token', required: false, description: 'A visitor token (POST visitors)' }),
    ApiHeader({ name: 'x-chat-user-token', required: false, description: 'A signed-in user: HS256 JWT from the app' }),
    ApiHeader({
      name: 'x-chat-user-id',
      required: false,
      description: 'A signed-in user: the id (with x-chat-user-hash)',
    }),
    ApiHeader({ name: 'x-chat-user-hash', required: false, description: 'hex HMAC-SHA256(inbox secret, user id)' }),
    ApiErrors({
      400: 'Malformed credentials',
      401: 'The credentials are invalid, expired, or name no customer',
      403: "The Origin is not on the inbox's allow-list",
      404: 'No such chat inbox',
      429: 'Too many attempts: retry later',
      503: 'The inbox is misconfigured, or ticket-service is unreachable',
    }),
  );

const CHAT_HEADERS =
  'content-type, x-chat-visitor-token, x-chat-user-token, x-chat-user-id, x-chat-user-hash, x-filename';

/** The widget's REST side: visitor tokens, history for reconnects, attachment upload and download. */
@ApiTags('chat (customers)')
@Controller('chat/:inboxId')
export class ChatController implements OnModuleInit {
  private readonly trusted: TrustedProxies;

  constructor(
    private readonly auth: CustomerAuthService,
    private readonly history: HistoryService,
    private readonly attachments: AttachmentService,
    private readonly limiter: RateLimiter,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.trusted = trustedProxies(config.TRUSTED_PROXIES);
  }

  onModuleInit() {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Uploads are raw bytes (no multipart parsing in memory): the stream goes straight to the blob store.
    fastify.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    // Widgets embedded on other sites call these endpoints cross-origin; the inbox's allow-list still applies.
    fastify.addHook('onRequest', (req, reply, done) => {
      if (!req.url.startsWith('/chat/')) return done();
      const origin = req.headers.origin;
      if (origin) {
        reply.header('access-control-allow-origin', origin);
        reply.header('vary', 'origin');
        reply.header('access-control-allow-headers', CHAT_HEADERS);
        reply.header('access-control-allow-methods', 'GET, POST, OPTIONS');
      }
      if (req.method === 'OPTIONS') return void reply.code(204).send();
      done();
    });
  }

  @Post('visitors')
  @HttpCode(201)
  @ApiOperation({ summary: 'Start an anonymous visitor: an id and the token to come back as it' })
  @INBOX_ID
  @ApiZodResponse(201, VisitorView, 'The new visitor')
  @ApiErrors({
    403: "The Origin is not on the inbox's allow-list",
    404: 'No such chat inbox',
    429: 'Too many new visitors from this address: retry later',
    503: 'The inbox is misconfigured, or cannot be looked up right now',
  })
  async createVisitor(@Param('inboxId') inboxId: string, @Req() req: FastifyRequest) {
    // The same function as the sockets' (equal to req.ip, see trusted-proxies.spec.ts), so both share one bucket.
    const ip = clientIp(req.raw.socket.remoteAddress, req.headers['x-forwarded-for'], this.trusted);
    if (!(await this.limiter.allow(`conn:ip:${ip}`, this.config.CHAT_IP_CONNECTS_PER_WINDOW)))
      throw new HttpException('too many new visitors from this address, retry later', HttpStatus.TOO_MANY_REQUESTS);
    try {
      const inbox = await this.auth.inbox(inboxId);
      this.auth.checkOrigin(inbox, req.headers.origin);
      return await this.auth.issueVisitor(inbox);
    } catch (err) {
      throw httpError(err);
    }
  }

  @Get('messages')
  @ApiOperation({ summary: "The customer's chat history, newest first (public messages only)" })
  @INBOX_ID
  @ApiZodQuery(HistoryQuery)
  @ApiCustomer()
  @ApiZodResponse(200, ChatHistoryPage, 'A page of messages')
  async messages(
    @Param('inboxId') inboxId: string,
    @Query('cursor') cursor: string | undefined,
    @Query('limit') limit: string | undefined,
    @Req() req: FastifyRequest,
  ): Promise<ChatHistoryPage> {
    const q = HistoryQuery.safeParse({ cursor, limit });
    if (!q.success)
      throw new BadRequestException(q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const customer = await customerFromRequest(this.auth, inboxId, req.headers);
    return this.history.page(customer, q.data.cursor, q.data.limit);
  }

  @Post('attachments')
  @HttpCode(201)
  @ApiOperation({ summary: 'Upload a file as raw bytes; send its ref with a chat message' })
  @INBOX_ID
  @ApiRawBody('application/octet-stream', BINARY, 'The file')
  @ApiHeader({ name: 'x-filename', required: false, description: 'Percent-encoded UTF-8 file name' })
  @ApiHeader({ name: 'x-content-type', required: false, description: 'The file’s media type' })
  @ApiCustomer()
  @ApiZodResponse(201, UploadView, 'The stored file')
  @ApiErrors({
    400: 'Not application/octet-stream, a malformed X-Filename, or larger than CHAT_MAX_ATTACHMENT_BYTES',
  })
  async upload(@Param('inboxId') inboxId: string, @Req() req: FastifyRequest) {
    const customer = await customerFromRequest(this.auth, inboxId, req.headers);
    if (!(req.body instanceof Readable)) throw new BadRequestException('send the file as application/octet-stream');
    const filename = uploadFilename(req.headers['x-filename']);
    const contentType = String(req.headers['x-content-type'] ?? 'application/octet-stream').slice(0, 255);
    try {
      return await this.attachments.upload(customer, req.body, filename, contentType);
    } catch (err) {
      if (err instanceof BlobTooLargeError)
        throw new BadRequestException(`attachment exceeds ${this.config.CHAT_MAX_ATTACHMENT_BYTES} bytes`);
      throw err;
    }
  }

  @Get('attachments/:sha256')
  @ApiOperation({ summary: 'Download a file of the conversation (uploaded by the customer or sent by an agent)' })
  @INBOX_ID
  @ApiZodParam('sha256', ApiSha256, 'The hex sha256 of the file')
  @ApiZodQueryParam('filename', z.string().optional(), 'The name to save it as')
  @ApiCustomer()
  @ApiContentResponse(200, 'application/octet-stream', 'The file', BINARY)
  @ApiErrors({ 404: 'No such chat inbox, or not a file of this customer' })
  async download(
    @Param('inboxId') inboxId: string,
    @Param('sha256') sha256: string,
    @Query('filename') filename: string | undefined,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const customer = await customerFromRequest(this.auth, inboxId, req.headers);
    if (!(await this.attachments.readable(customer, sha256))) throw new NotFoundException('attachment not found');
    const name = (filename ?? 'attachment').replace(/["\\\r\n]/g, '_').slice(0, 200);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('x-content-type-options', 'nosniff')
      .send(this.attachments.read(sha256));
  }
}

/**
 * X-Filename is percent-encoded UTF-8 (headers are Latin-1). Malformed encoding or a name
 * that cannot be stored is the client's error, answered 400, not a 500.
 */
export function uploadFilename(header: string | string[] | undefined): string {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || raw === '') return 'attachment';
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new BadRequestException('X-Filename must be percent-encoded UTF-8 (malformed escape sequence)');
  }
  if (!isStorableText(name)) throw new BadRequestException('X-Filename contains U+0000 or an unpaired surrogate');
  return name.replace(/[/\\\r\n]/g, '_').slice(0, 255) || 'attachment';
}
