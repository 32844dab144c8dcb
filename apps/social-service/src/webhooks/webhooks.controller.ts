import {
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  UnauthorizedException,
  ForbiddenException,
  BadRequestException,
  RawBodyRequest,
} from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { JobName, QueueName, socialRawJobId } from '@oq/contracts';
import {
  AcceptsBodyProblem,
  ApiContentResponse,
  ApiErrors,
  ApiUuid,
  ApiZodParam,
  ApiZodQueryParam,
  ApiZodResponse,
  BodyLimit,
  BodyProblemRequest,
  LOGGER,
  QueueService,
  safeEqual,
} from '@oq/platform';
import { z } from 'zod';
import { FastifyRequest } from 'fastify';
import { Logger } from 'pino';
import { SocialInboxes } from '../inboxes/social-inboxes.service';
import { MetaInbox, SocialInbox, TelegramInbox, isMetaInbox } from '../inboxes/social-inbox';
import { maskWebhookBody } from './redact';
import { verifyMetaSignature, verifyTelegramSecret } from './signature';

type WebhookRequest = RawBodyRequest<FastifyRequest> & BodyProblemRequest;

const Acknowledged = z.object({ ok: z.literal(true) });
const INBOX_ID = ApiZodParam('inboxId', ApiUuid, 'The social inbox id (each inbox has its own webhook URL)');
/** The provider's own JSON: documented by the provider, acknowledged as it comes. */
const PROVIDER_JSON = { type: 'object', additionalProperties: true } as const;
const INTAKE_ERRORS = {
  400: 'Empty body',
  404: 'No enabled inbox of this provider with this id',
  503: 'The inbox cannot be looked up right now (ticket-service unreachable): the provider retries',
};

/**
 * Provider webhooks. Each inbox has its own URL, so the inbox (and with it the
 * secret to verify with) is known before the body is looked at:
 *
 *   GET  /webhooks/meta/:inboxId      Meta's subscription handshake
 *   POST /webhooks/meta/:inboxId      Messenger / Instagram / WhatsApp Cloud events (X-Hub-Signature-256)
 *   POST /webhooks/telegram/:inboxId  Telegram updates (X-Telegram-Bot-Api-Secret-Token)
 *
 * A verified body goes to `social.raw` (job id = hash of the exact bytes, so a
 * provider's redelivery is one job) and is acknowledged; parsing, media downloads
 * and InboundMessages happen in the social.raw worker.
 */
@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(
    private readonly inboxes: SocialInboxes,
    private readonly queues: QueueService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('meta/:inboxId')
  @Header('content-type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary: "Meta's subscription handshake (Messenger, Instagram, WhatsApp Cloud): echoes hub.challenge",
  })
  @INBOX_ID
  @ApiZodQueryParam('hub.mode', z.string().optional(), 'Must be `subscribe`')
  @ApiZodQueryParam('hub.verify_token', z.string().optional(), "Must equal the inbox's verify token")
  @ApiZodQueryParam('hub.challenge', z.string().optional(), 'Echoed back on success')
  @ApiContentResponse(200, 'text/plain', 'hub.challenge, as sent')
  @ApiErrors({
    400: 'hub.challenge is missing',
    403: 'hub.mode is not subscribe, or hub.verify_token does not match',
    404: 'No enabled Meta inbox with this id',
    503: INTAKE_ERRORS[503],
  })
  async verifyMeta(
    @Param('inboxId') inboxId: string,
    @Query('hub.mode') mode?: string,
    @Query('hub.verify_token') token?: string,
    @Query('hub.challenge') challenge?: string,
  ): Promise<string> {
    const inbox = await this.metaInbox(inboxId);
    if (mode !== 'subscribe' || !token || !safeEqual(token, inbox.secrets.verifyToken)) {
      this.logger.warn({ inboxId, mode }, 'meta webhook verification refused: hub.mode or hub.verify_token mismatch');
      throw new ForbiddenException('hub.mode must be subscribe and hub.verify_token must match the inbox verify token');
    }
    if (!challenge) throw new BadRequestException('hub.challenge is missing');
    return challenge;
  }

  @Post('meta/:inboxId')
  @HttpCode(200)
  @AcceptsBodyProblem()
  // Meta documents WhatsApp Cloud API webhook payloads of up to 3 MB (Messenger and Instagram name no maximum).
  @BodyLimit(3 * 1024 * 1024)
  @ApiOperation({
    summary: 'Messenger, Instagram and WhatsApp Cloud events (signed with the app secret)',
    description:
      'A verified body is queued and acknowledged; one that is verified but not a JSON object is acknowledged and ' +
      'dead-lettered (a 4xx would make Meta redeliver it for days).',
  })
  @INBOX_ID
  @ApiHeader({
    name: 'x-hub-signature-256',
    required: true,
    description: 'sha256=<hex HMAC-SHA256 of the raw body with the app secret>',
    schema: { type: 'string' },
  })
  @ApiBody({ schema: PROVIDER_JSON, description: "Meta's webhook event (object, entry[] …)" })
  @ApiZodResponse(200, Acknowledged, 'Received')
  @ApiErrors({ ...INTAKE_ERRORS, 401: 'X-Hub-Signature-256 missing or does not match the body' })
  async receiveMeta(@Param('inboxId') inboxId: string, @Req() req: WebhookRequest): Promise<{ ok: true }> {
    const inbox = await this.metaInbox(inboxId);
    const raw = this.rawBody(req);
    const header = req.headers['x-hub-signature-256'];
    if (!verifyMetaSignature(raw, typeof header === 'string' ? header : undefined, inbox.secrets.appSecret)) {
      this.logger.warn({ inboxId, bytes: raw.length }, 'meta webhook refused: X-Hub-Signature-256 does not match');
      throw new UnauthorizedException('X-Hub-Signature-256 missing or does not match the body');
    }
    await this.enqueue('meta', inbox, req);
    return { ok: true };
  }

  @Post('telegram/:inboxId')
  @HttpCode(200)
  @AcceptsBodyProblem()
  // One Update per request (a message is at most 4096 characters, media come as file ids): far under 1 MB.
  @BodyLimit(1024 * 1024)
  @ApiOperation({
    summary: 'Telegram Bot API updates (the secret token set with setWebhook)',
    description:
      'A verified body is queued and acknowledged; one that is not a JSON object is acknowledged and dead-lettered.',
  })
  @INBOX_ID
  @ApiHeader({
    name: 'x-telegram-bot-api-secret-token',
    required: true,
    description: "The inbox's webhook secret",
    schema: { type: 'string' },
  })
  @ApiBody({ schema: PROVIDER_JSON, description: 'A Telegram Update (update_id, message …)' })
  @ApiZodResponse(200, Acknowledged, 'Received')
  @ApiErrors({ ...INTAKE_ERRORS, 401: 'X-Telegram-Bot-Api-Secret-Token missing or wrong' })
  async receiveTelegram(@Param('inboxId') inboxId: string, @Req() req: WebhookRequest): Promise<{ ok: true }> {
    const inbox = await this.inbox(inboxId);
    if (inbox.channel !== 'telegram') throw new NotFoundException(`no telegram inbox ${inboxId}`);
    const header = req.headers['x-telegram-bot-api-secret-token'];
    if (!verifyTelegramSecret(typeof header === 'string' ? header : undefined, inbox.secrets.webhookSecret)) {
      this.logger.warn({ inboxId }, 'telegram webhook refused: X-Telegram-Bot-Api-Secret-Token does not match');
      throw new UnauthorizedException('X-Telegram-Bot-Api-Secret-Token missing or wrong');
    }
    await this.enqueue('telegram', inbox as TelegramInbox, req);
    return { ok: true };
  }

  private async inbox(inboxId: string): Promise<SocialInbox> {
    const inbox = await this.inboxes.getForIntake(inboxId);
    if (!inbox || !inbox.enabled) throw new NotFoundException(`no enabled social inbox ${inboxId}`);
    return inbox;
  }

  private async metaInbox(inboxId: string): Promise<MetaInbox> {
    const inbox = await this.inbox(inboxId);
    if (!isMetaInbox(inbox)) throw new NotFoundException(`no Meta inbox ${inboxId}`);
    return inbox;
  }

  private rawBody(req: WebhookRequest): Buffer {
    // Fastify has already refused malformed JSON with 400; rawBody is the exact bytes signed by the provider.
    if (!req.rawBody || !req.rawBody.length) throw new BadRequestException('empty body');
    return req.rawBody;
  }

  private async enqueue(provider: 'meta' | 'telegram', inbox: SocialInbox, req: WebhookRequest): Promise<void> {
    const raw = this.rawBody(req);
    // Parsed before verification but used only now. A verified body we cannot process is still the
    // provider's delivery: acknowledged and dead-lettered (a 4xx would make it redeliver for days).
    const body: unknown = req.body;
    const problem =
      req.bodyProblem ??
      (!body || typeof body !== 'object' || Array.isArray(body) ? 'body is not a JSON object' : null);
    if (problem) return this.deadLetter(provider, inbox, raw, problem);
    await this.queues.add(
      QueueName.SocialRaw,
      JobName.SocialRawEvent,
      { v: 1, provider, inboxId: inbox.id, receivedAt: new Date().toISOString(), body: maskWebhookBody(body) },
      { jobId: socialRawJobId(provider, inbox.id, raw.toString('utf8')) },
    );
  }

  private async deadLetter(provider: 'meta' | 'telegram', inbox: SocialInbox, raw: Buffer, reason: string) {
    const jobId = await this.queues.deadLetter(`webhook|${provider}|${inbox.id}|${raw.toString('latin1')}`, {
      queue: QueueName.SocialRaw,
      jobName: JobName.SocialRawEvent,
      reason: `signed ${provider} webhook for inbox ${inbox.id} not processable: ${reason}`,
      payload: raw,
    });
    this.logger.warn({ inboxId: inbox.id, provider, bytes: raw.length, reason, jobId }, 'signed webhook dead-lettered');
  }
}
