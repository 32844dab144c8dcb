import {
  Controller,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  RawBodyRequest,
  Req,
  UnauthorizedException,
  BadRequestException,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CALL_TRANSCRIPT_MAX_CHARS } from '@oq/contracts';
import {
  ApiErrors,
  ApiUuid,
  ApiZodBody,
  ApiZodParam,
  ApiZodResponse,
  BodyLimit,
  CONFIG,
  LOGGER,
  InboxDirectory,
} from '@oq/platform';
import { z } from 'zod';
import { FastifyRequest } from 'fastify';
import { Logger } from 'pino';
import { CallIngest } from '../calls/call-ingest.service';
import { InvalidCallRecordError } from '../calls/call-record-error';
import { Config } from '../config';
import { PbxCallRecord, pbxCallEvent } from './pbx-call-record.dto';
import { PBX_SIGNATURE_HEADER, PBX_TIMESTAMP_HEADER, verifyPbxSignature } from './pbx-signature';

const PbxAccepted = z.object({
  /** stored: a new call or a new revision of it; duplicate: seen before; ignored: older than what is stored; pending: kept for a retry. */
  status: z.enum(['stored', 'duplicate', 'ignored', 'pending']),
});

const header = (req: FastifyRequest, name: string) => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

@ApiTags('webhooks')
@Controller('webhooks/pbx')
export class PbxController {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly inboxes: InboxDirectory,
    private readonly ingest: CallIngest,
  ) {}

  @Post(':inboxId')
  @HttpCode(200)
  // The longest transcript a record may carry at up to 3 UTF-8 bytes a character, and the other fields.
  @BodyLimit(CALL_TRANSCRIPT_MAX_CHARS * 3 + 16 * 1024)
  @ApiOperation({
    summary: 'Generic signed call record (Asterisk, FreeSWITCH, 3CX)',
    description:
      'JSON body; X-OneQueue-Timestamp: unix seconds; X-OneQueue-Signature: hex HMAC-SHA256 of "<timestamp>.<raw body>" ' +
      'with the inbox signing secret. Records older than 5 minutes are rejected.',
  })
  @ApiZodParam('inboxId', ApiUuid, 'The voice inbox id (its URL is its own)')
  @ApiHeader({ name: 'x-onequeue-timestamp', required: true, description: 'Unix seconds', schema: { type: 'string' } })
  @ApiHeader({
    name: 'x-onequeue-signature',
    required: true,
    description: 'hex HMAC-SHA256 of "<timestamp>.<raw body>" with the inbox signing secret',
    schema: { type: 'string' },
  })
  @ApiZodBody(PbxCallRecord)
  @ApiZodResponse(200, PbxAccepted, 'Accepted')
  @ApiErrors({
    400: 'The body is not JSON, or not a valid call record (`field` names the field)',
    401: 'Timestamp or signature missing, stale or wrong',
    404: 'No PBX voice inbox with this id (or it has no signing secret)',
    503: 'The inbox cannot be looked up right now: retry',
  })
  async record(
    @Param('inboxId') inboxId: string,
    @Req() req: RawBodyRequest<FastifyRequest>,
  ): Promise<{ status: string }> {
    const inbox = await this.inboxes.getForIntake(inboxId);
    const secret = inbox?.secrets.signingSecret;
    if (!inbox || !secret) throw new NotFoundException(`no PBX voice inbox ${inboxId}`);

    const raw = req.rawBody ?? Buffer.alloc(0);
    const verdict = verifyPbxSignature(
      secret,
      header(req, PBX_TIMESTAMP_HEADER),
      header(req, PBX_SIGNATURE_HEADER),
      raw,
      new Date(),
      this.config.VOICE_PBX_MAX_AGE_SECONDS,
    );
    if (!verdict.ok) {
      this.logger.warn({ inboxId, reason: verdict.reason }, 'pbx call record rejected');
      throw new UnauthorizedException(verdict.reason);
    }

    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new BadRequestException({ statusCode: 400, field: '(body)', message: 'body is not JSON' });
    }
    const region = String(inbox.settings.defaultRegion ?? this.config.VOICE_DEFAULT_REGION);
    try {
      return { status: await this.ingest.accept(inboxId, pbxCallEvent(body, region), raw) };
    } catch (err) {
      if (err instanceof InvalidCallRecordError) {
        const callId = (body as { callId?: unknown })?.callId;
        this.logger.warn({ inboxId, callId, reason: err.message }, 'call record rejected');
        throw err.toHttp();
      }
      throw err;
    }
  }
}
