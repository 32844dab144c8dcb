import {
  BadRequestException,
  ConflictException,
  Controller,
  Header,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@oq/platform';
import { z } from 'zod';
import { AdminOnly } from '../auth/agent-auth.guard';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { ApiZodQuery, Parsed } from '../tickets/openapi';
import {
  DeadLetterNotFoundError,
  DeadLetterNotReplayableError,
  DeadLetterService,
  InvalidCursorError,
} from './dead-letter.service';

const DeadLetterListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
  /** Include letters that were already replayed. */
  includeReplayed: z.stringbool().default(false),
});

/** Inbound jobs that failed for good, for admins to inspect and replay once the cause is fixed. */
@ApiTags('admin')
@AdminOnly()
@Controller('v1/admin/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLetterService) {}

  @Get()
  @ApiOperation({ summary: 'Dead letters, newest first (cursor pagination)' })
  @ApiZodQuery(DeadLetterListQuery)
  @ApiResponse({ status: 403, description: 'Not an admin' })
  async list(@Query(new ZodValidationPipe(DeadLetterListQuery)) query: Parsed<typeof DeadLetterListQuery>) {
    try {
      return await this.deadLetters.list(query);
    } catch (err) {
      if (err instanceof InvalidCursorError)
        throw new BadRequestException({
          statusCode: 400,
          message: 'validation failed',
          fields: [{ path: 'cursor', message: 'malformed cursor' }],
        });
      throw err;
    }
  }

  @Get(':id/payload')
  @Header('content-type', 'application/octet-stream')
  @Header('content-disposition', 'attachment; filename="dead-letter-payload.json"')
  @ApiOperation({ summary: 'The payload exactly as kept (JSON text, UTF-8), also when too deep or broken to show' })
  @ApiResponse({ status: 404, description: 'No such dead letter' })
  async payload(@Param('id') id: string): Promise<Buffer> {
    try {
      return await this.deadLetters.payloadBytes(id);
    } catch (err) {
      if (err instanceof DeadLetterNotFoundError) throw new NotFoundException(err.message);
      throw err;
    }
  }

  @Post(':id/replay')
  @HttpCode(200)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Put the payload back on its queue under a new job id' })
  @ApiResponse({ status: 404, description: 'No such dead letter' })
  async replay(@Param('id') id: string) {
    try {
      return await this.deadLetters.replay(id);
    } catch (err) {
      if (err instanceof DeadLetterNotFoundError) throw new NotFoundException(err.message);
      if (err instanceof DeadLetterNotReplayableError) throw new ConflictException(err.message);
      throw err;
    }
  }
}
