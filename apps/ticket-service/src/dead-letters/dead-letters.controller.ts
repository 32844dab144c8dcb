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
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiContentResponse,
  ApiDateTime,
  ApiErrors,
  ApiUuid,
  ApiZodParam,
  ApiZodQuery,
  ApiZodResponse,
  BINARY,
  Parsed,
  ZodValidationPipe,
} from '@oq/platform';
import { z } from 'zod';
import { AdminOnly } from '../auth/agent-auth.guard';
import { ApiIdempotent, IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
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

const DeadLetterView = z
  .object({
    id: ApiUuid,
    queue: z.string(),
    jobName: z.string(),
    jobId: z.string().nullable(),
    /** The payload as JSON; null when it cannot be shown (see payloadNote, and download it). */
    payload: z.unknown(),
    payloadNote: z.string().optional(),
    reason: z.string(),
    createdAt: ApiDateTime,
    replayedAt: ApiDateTime.nullable(),
    replayCount: z.number().int(),
  })
  .meta({ id: 'DeadLetter' });

const DeadLetterPage = z.object({ items: z.array(DeadLetterView), nextCursor: z.string().nullable() });

const ReplayResult = z.object({ id: ApiUuid, jobId: z.string(), queue: z.string() });

const NOT_FOUND = { 404: 'No such dead letter' };

/** Inbound jobs that failed for good, for admins to inspect and replay once the cause is fixed. */
@ApiTags('admin')
@AdminOnly()
@Controller('v1/admin/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLetterService) {}

  @Get()
  @ApiOperation({ summary: 'Dead letters, newest first (cursor pagination)' })
  @ApiZodQuery(DeadLetterListQuery)
  @ApiZodResponse(200, DeadLetterPage, 'A page of dead letters')
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
  @ApiZodParam('id', ApiUuid, 'The dead letter id')
  @ApiContentResponse(200, 'application/octet-stream', 'The payload bytes (dead-letter-payload.json)', BINARY)
  @ApiErrors(NOT_FOUND)
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
  @ApiZodParam('id', ApiUuid, 'The dead letter id')
  @ApiIdempotent()
  @ApiZodResponse(200, ReplayResult, 'The job it went back as')
  @ApiErrors({ ...NOT_FOUND, 409: 'The payload cannot be replayed (too deep, or not valid JSON): download it' })
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
