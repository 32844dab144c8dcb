import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
  UseInterceptors,
  applyDecorators,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  sendDownload,
  ApiBadRequestReason,
  ApiContentResponse,
  ApiErrors,
  ApiNoContent,
  ApiSha256,
  ApiUuid,
  ApiZodParam,
  ApiZodQuery,
  ApiZodResponse,
  BINARY,
  Parsed,
  ZodValidationPipe,
} from '@oq/platform';
import { FastifyReply } from 'fastify';
import { AdminOnly, CurrentAgent } from '../auth/agent-auth.guard';
import { ApiIdempotent, IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { Viewer } from '../permissions/ticket-visibility';
import { ReleaseResult, SuppressedMailListQuery, SuppressedMailPage, SuppressedMailView } from './suppressed-mail.dto';
import { SuppressedMailService } from './suppressed-mail.service';

/** Admin-only, so an id cannot be probed: a malformed one says so (400), an unknown one is 404. */
const SuppressedMailId = new ParseUUIDPipe({
  exceptionFactory: () =>
    new BadRequestException({
      statusCode: 400,
      message: 'validation failed',
      fields: [{ path: 'id', message: 'must be a UUID' }],
    }),
});

/** The id path parameter: malformed is 400 here (admins only, nothing to hide). */
const ApiSuppressedMailId = (notFound: string) =>
  applyDecorators(
    ApiZodParam('id', ApiUuid, 'The suppressed mail id'),
    ApiBadRequestReason('id', 'The id is not a UUID (`fields`)'),
    ApiErrors({ 404: notFound }),
  );

/**
 * Mail email-service kept out of the agent queue (backscatter of mail we never sent, upstream-flagged
 * spam), for admins to review, download, release into the queue, or delete.
 */
@ApiTags('admin')
@AdminOnly()
@Controller('v1/admin/suppressed-mail')
export class SuppressedMailController {
  constructor(private readonly suppressed: SuppressedMailService) {}

  @Get()
  @ApiOperation({ summary: 'Suppressed mail, newest first (cursor pagination); held mail unless released=true' })
  @ApiZodQuery(SuppressedMailListQuery)
  @ApiZodResponse(200, SuppressedMailPage, 'A page of suppressed mail')
  @ApiErrors({ 400: 'Invalid filter or malformed cursor (`fields`)' })
  list(@Query(new ZodValidationPipe(SuppressedMailListQuery)) query: Parsed<typeof SuppressedMailListQuery>) {
    return this.suppressed.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One suppressed mail with a text preview and its attachments' })
  @ApiSuppressedMailId('No such suppressed mail (or deleted)')
  @ApiZodResponse(200, SuppressedMailView, 'The mail')
  get(@Param('id', SuppressedMailId) id: string) {
    return this.suppressed.get(id);
  }

  @Get(':id/raw')
  @ApiOperation({ summary: 'The raw source (RFC 5322) exactly as received' })
  @ApiSuppressedMailId('No such suppressed mail (or deleted), or its raw source is gone')
  @ApiContentResponse(200, 'message/rfc822', 'The raw source (<id>.eml)', { type: 'string' })
  async raw(@Param('id', SuppressedMailId) id: string, @Res() reply: FastifyReply) {
    const { size, stream } = await this.suppressed.raw(id);
    return sendDownload(reply, { stream, size, contentType: 'message/rfc822', filename: `${id}.eml` });
  }

  @Get(':id/attachments/:sha256')
  @ApiOperation({ summary: 'An attachment of a suppressed mail' })
  @ApiSuppressedMailId('No such suppressed mail, or it has no such attachment')
  @ApiZodParam('sha256', ApiSha256, 'The attachment content hash')
  @ApiContentResponse(200, 'application/octet-stream', 'The attachment, with its file name', BINARY)
  async attachment(
    @Param('id', SuppressedMailId) id: string,
    @Param('sha256') sha256: string,
    @Res() reply: FastifyReply,
  ) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new NotFoundException('attachment not found');
    const { ref, stream } = await this.suppressed.attachment(id, sha256);
    return sendDownload(reply, {
      stream,
      size: ref.size,
      contentType: 'application/octet-stream',
      filename: ref.filename,
    });
  }

  @Post(':id/release')
  @HttpCode(200)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({
    summary:
      'Ingest the mail as if it had not been suppressed (a ticket opened or threaded); releasing again returns the same',
  })
  @ApiSuppressedMailId('No such suppressed mail (or deleted)')
  @ApiIdempotent()
  @ApiZodResponse(200, ReleaseResult, 'The ticket and message the mail became')
  @ApiErrors({ 409: 'Its inbox cannot take it now (disabled, gone), or the stored mail is invalid' })
  release(@CurrentAgent() admin: Viewer, @Param('id', SuppressedMailId) id: string) {
    return this.suppressed.release(id, admin);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Soft-delete: the mail leaves every list and route; deleting again is a no-op' })
  @ApiSuppressedMailId('No such suppressed mail')
  @ApiNoContent('Deleted (or already deleted)')
  async remove(@Param('id', SuppressedMailId) id: string): Promise<void> {
    await this.suppressed.remove(id);
  }
}
