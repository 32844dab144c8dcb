import { Body, Controller, Get, HttpCode, Post, Query, Res, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiNoContent, ApiZodBody, ApiZodQuery, ApiZodResponse, Parsed, ZodValidationPipe } from '@oq/platform';
import { FastifyReply } from 'fastify';
import { AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { ApiIdempotent, IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { TicketPage, TicketView } from '../tickets/ticket.dto';
import { Viewer } from '../permissions/ticket-visibility';
import { QueueNextBody, QueueQuery } from './queue.dto';
import { QueueService } from './queue.service';

@ApiTags('queue')
@AgentAuth()
@Controller('v1/queue')
export class QueueController {
  constructor(private readonly queue: QueueService) {}

  @Get()
  @ApiOperation({
    summary: 'Open work across every channel: by due time (none last), then priority, then age; cursor pagination',
  })
  @ApiZodQuery(QueueQuery)
  @ApiZodResponse(200, TicketPage, 'A page of open tickets in queue order')
  list(@CurrentAgent() agent: Viewer, @Query(new ZodValidationPipe(QueueQuery)) query: Parsed<typeof QueueQuery>) {
    return this.queue.list(agent, query);
  }

  @Post('next')
  @HttpCode(200)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Assign the caller the most urgent unassigned ticket it may take' })
  @ApiZodBody(QueueNextBody, { required: false, description: 'Optional: take only from one team or channels' })
  @ApiIdempotent()
  @ApiZodResponse(200, TicketView, 'The ticket now assigned to the caller')
  @ApiNoContent('Nothing to take')
  async next(
    @CurrentAgent() agent: Viewer,
    @Body(new ZodValidationPipe(QueueNextBody)) body: Parsed<typeof QueueNextBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const ticket = await this.queue.next(agent, body ?? {});
    if (!ticket) reply.status(204);
    return ticket ?? undefined;
  }
}
