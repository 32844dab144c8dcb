import {
  Controller,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  RawBodyRequest,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiContentResponse,
  ApiErrors,
  ApiRawBody,
  ApiUuid,
  ApiZodParam,
  BodyLimit,
  CONFIG,
  LOGGER,
  InboxDirectory,
} from '@oq/platform';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'pino';
import { CallIngest } from '../calls/call-ingest.service';
import { InvalidCallRecordError } from '../calls/call-record-error';
import { Config } from '../config';
import { twilioCallEvent } from './twilio-callback';
import { FormParams, isValidTwilioSignature, parseForm } from './twilio-signature';

/** The callback's parameters in signing order: a retry of the same callback has the same bytes. */
const canonicalForm = (form: FormParams) =>
  Buffer.from(
    JSON.stringify([...form].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))),
  );

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

@ApiTags('webhooks')
@Controller('webhooks/twilio')
export class TwilioController {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly inboxes: InboxDirectory,
    private readonly ingest: CallIngest,
  ) {}

  @Post(':inboxId')
  @HttpCode(200)
  // Form-encoded callbacks of a few KB; a transcription callback carries a transcript of at most two minutes.
  @BodyLimit(64 * 1024)
  @ApiOperation({
    summary: 'Twilio status, recording and transcription callbacks (form-encoded, X-Twilio-Signature)',
  })
  @ApiZodParam('inboxId', ApiUuid, 'The voice inbox id (its URL is its own)')
  @ApiHeader({
    name: 'x-twilio-signature',
    required: true,
    description: "Twilio's signature over the public URL and the parameters",
    schema: { type: 'string' },
  })
  @ApiRawBody(
    'application/x-www-form-urlencoded',
    { type: 'object', additionalProperties: { type: 'string' } },
    "Twilio's callback parameters (CallSid, CallStatus, From, To, RecordingUrl, TranscriptionText…)",
  )
  @ApiContentResponse(200, 'text/xml', 'An empty TwiML document', {
    type: 'string',
    const: EMPTY_TWIML,
  })
  @ApiErrors({
    400: 'Not a valid call event (`field` names the parameter)',
    401: 'X-Twilio-Signature missing or wrong',
    404: 'No Twilio voice inbox with this id (or it has no auth token)',
    503: 'The inbox cannot be looked up right now: retry',
  })
  async callback(
    @Param('inboxId') inboxId: string,
    @Req() req: RawBodyRequest<FastifyRequest>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const inbox = await this.inboxes.getForIntake(inboxId);
    const authToken = inbox?.secrets.authToken;
    if (!inbox || !authToken) throw new NotFoundException(`no Twilio voice inbox ${inboxId}`);

    // Twilio signs the URL it called, which a proxy rewrites: rebuild it from configuration.
    const url = this.config.VOICE_PUBLIC_BASE_URL + req.url;
    const form = parseForm(req.rawBody);
    const signature = req.headers['x-twilio-signature'];
    if (!isValidTwilioSignature(authToken, url, form, typeof signature === 'string' ? signature : undefined)) {
      this.logger.warn({ inboxId, url }, 'twilio callback with a bad signature rejected');
      throw new UnauthorizedException('invalid X-Twilio-Signature');
    }

    const region = String(inbox.settings.defaultRegion ?? this.config.VOICE_DEFAULT_REGION);
    try {
      await this.ingest.accept(
        inboxId,
        twilioCallEvent(form, region, new Date(), req.query as Record<string, unknown>),
        canonicalForm(form),
      );
    } catch (err) {
      if (err instanceof InvalidCallRecordError) {
        this.logger.warn(
          { inboxId, callSid: new Map(form).get('CallSid'), reason: err.message },
          'call event rejected',
        );
        throw err.toHttp();
      }
      throw err;
    }
    // Set here rather than by decorator: error responses stay JSON.
    reply.header('content-type', 'text/xml; charset=utf-8');
    return EMPTY_TWIML;
  }
}
