import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { BodyLimit, ZodValidationPipe } from '@oq/platform';
import { AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { ApiZodBody, ApiZodQuery, Parsed } from './openapi';
import { CreateTicketBody, MergeTicketBody, TicketListQuery, UpdateTicketBody } from './ticket.dto';
import { TicketsService } from './tickets.service';
import { Viewer } from './viewer';

/** Malformed ids are "not found", like invisible ones: ids cannot be probed. */
export const IdParam = new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException('not found') });

@ApiTags('tickets')
@AgentAuth()
@Controller('v1/tickets')
export class TicketsController {
  constructor(private readonly tickets: TicketsService) {}

  @Get()
  @ApiOperation({ summary: 'Tickets the caller may see, newest activity first (cursor pagination)' })
  @ApiZodQuery(TicketListQuery)
  list(
    @CurrentAgent() agent: Viewer,
    @Query(new ZodValidationPipe(TicketListQuery)) query: Parsed<typeof TicketListQuery>,
  ) {
    return this.tickets.list(agent, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A ticket with its timeline: messages, notes, call logs, participants, audit, links' })
  @ApiResponse({ status: 404, description: 'No such ticket, or not visible to the caller' })
  get(@CurrentAgent() agent: Viewer, @Param('id', IdParam) id: string) {
    return this.tickets.get(agent, id);
  }

  @Post()
  // The customer's words (message.text, up to 1,000,000 characters) at up to 3 UTF-8 bytes each.
  @BodyLimit(4 * 1024 * 1024)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Open a ticket on behalf of a customer (e.g. a phone call logged by hand)' })
  @ApiZodBody(CreateTicketBody)
  @ApiResponse({ status: 201, description: 'The new ticket with its timeline' })
  create(
    @CurrentAgent() agent: Viewer,
    @Body(new ZodValidationPipe(CreateTicketBody)) body: Parsed<typeof CreateTicketBody>,
  ) {
    return this.tickets.create(agent, body);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change status, priority, type, category, tags, team or assignee (optimistic `version`)' })
  @ApiZodBody(UpdateTicketBody)
  @ApiResponse({ status: 409, description: 'Stale version, or the ticket is closed (immutable)' })
  @ApiResponse({ status: 422, description: 'Invalid status transition, unknown team/category, assignee not in team' })
  update(
    @CurrentAgent() agent: Viewer,
    @Param('id', IdParam) id: string,
    @Body(new ZodValidationPipe(UpdateTicketBody)) body: Parsed<typeof UpdateTicketBody>,
  ) {
    return this.tickets.update(agent, id, body);
  }

  @Post(':id/merge')
  @HttpCode(200)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Merge this ticket into another: messages move, this one closes with merged_into_id' })
  @ApiZodBody(MergeTicketBody)
  merge(
    @CurrentAgent() agent: Viewer,
    @Param('id', IdParam) id: string,
    @Body(new ZodValidationPipe(MergeTicketBody)) body: Parsed<typeof MergeTicketBody>,
  ) {
    return this.tickets.merge(agent, id, body);
  }
}
