import { BadRequestException, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  sendDownload,
  ApiContentResponse,
  ApiErrors,
  ApiRawBody,
  ApiSha256,
  ApiUuid,
  ApiZodParam,
  ApiZodQueryParam,
  ApiZodResponse,
  BINARY,
  CONFIG,
  idParam,
} from '@oq/platform';
import { MessageAttachment } from '../tickets/ticket.dto';
import { FastifyReply, FastifyRequest } from 'fastify';
import { AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { Config } from '../config';
import { Viewer } from '../permissions/ticket-visibility';
import { AttachmentsService } from './attachments.service';

@ApiTags('attachments')
@AgentAuth()
@Controller('v1/attachments')
export class AttachmentsController {
  constructor(
    private readonly attachments: AttachmentsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /**
   * Upload one file (multipart field `file`); reference the returned sha256 in a
   * reply or note. Content-addressed, so a retried upload is naturally idempotent.
   * The caller is recorded as an uploader: that is what lets them attach the hash.
   */
  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Upload an attachment (multipart/form-data, field "file")' })
  @ApiRawBody('multipart/form-data', {
    type: 'object',
    properties: { file: BINARY },
    required: ['file'],
  })
  @ApiZodResponse(201, MessageAttachment, 'The stored file: attach it by its sha256')
  @ApiErrors({
    400: 'Not multipart/form-data, or no "file" field',
    413: 'Larger than MAX_ATTACHMENT_BYTES',
  })
  async upload(@CurrentAgent() agent: Viewer, @Req() req: FastifyRequest) {
    if (!req.isMultipart()) throw new BadRequestException('expected multipart/form-data with a "file" field');
    const max = this.config.MAX_ATTACHMENT_BYTES;
    // One byte over the limit lets the blob store see (and reject) an oversized file.
    const part = await req.file({ limits: { fileSize: max + 1, files: 1 } });
    if (!part) throw new BadRequestException('expected multipart/form-data with a "file" field');
    const filename = (part.filename || 'attachment').replace(/[\r\n"\\/]/g, '_').slice(0, 255);
    return this.attachments.store(agent, part.file, filename, part.mimetype, max);
  }

  @Get(':sha256')
  @ApiOperation({ summary: 'Download an attachment of a message on a ticket the caller can see' })
  @ApiZodParam('sha256', ApiSha256, 'The hex sha256 of the content')
  @ApiZodQueryParam('ticketId', ApiUuid, 'The ticket whose message references the attachment')
  @ApiContentResponse(200, '*/*', 'The file, with the content type and file name it was stored with', BINARY)
  @ApiErrors({ 404: 'Unknown, not referenced by that ticket, or the ticket is not visible' })
  async download(
    @CurrentAgent() agent: Viewer,
    @Param('sha256') sha256: string,
    @Query('ticketId', idParam('attachment not found'))
    ticketId: string,
    @Res() reply: FastifyReply,
  ) {
    const { ref, stream } = await this.attachments.open(agent, sha256, ticketId);
    return sendDownload(reply, { stream, size: ref.size, contentType: ref.contentType, filename: ref.filename });
  }
}
