import {
  Body,
  Controller,
  applyDecorators,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiErrors,
  ApiUuid,
  ApiZodBody,
  ApiZodParam,
  ApiZodQuery,
  ApiZodResponse,
  BodyLimit,
  IdParam,
  Parsed,
  ZodValidationPipe,
} from '@oq/platform';
import { AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { ApiIdempotent, IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import {
  CreateTicketBody,
  MergeTicketBody,
  TicketDetailView,
  TicketListQuery,
  TicketPage,
  UpdateTicketBody,
} from './ticket.dto';
import { TicketsService } from './tickets.service';
import { Viewer } from '../permissions/ticket-visibility';

/** The ticket id path parameter, and the 404 of an unknown or invisible ticket. */
export const ApiTicketId = () =>
  applyDecorators(
    ApiZodParam('id', ApiUuid, 'The ticket id'),
    ApiErrors({ 404: 'No such ticket, or not visible to the caller' }),
  );

@ApiTags('tickets')
@AgentAuth()
@Controller('v1/tickets')
export class TicketsController {
  constructor(private readonly tickets: TicketsService) {}

  @Get()
  @ApiOperation({ summary: 'Tickets the caller may see, newest activity first (cursor pagination)' })
  @ApiZodQuery(TicketListQuery)
  @ApiZodResponse(200, TicketPage, 'A page of tickets')
  list(
    @CurrentAgent() agent: Viewer,
    @Query(new ZodValidationPipe(TicketListQuery)) query: Parsed<typeof TicketListQuery>,
  ) {
    return this.tickets.list(agent, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A ticket with its timeline: messages, notes, call logs, participants, audit, links' })
  @ApiTicketId()
  @ApiZodResponse(200, TicketDetailView, 'The ticket with its timeline')
  get(@CurrentAgent() agent: Viewer, @Param('id', IdParam) id: string) {
    return this.tickets.get(agent, id);
  }

  @Post()
  // The customer's words (message.text, up to 1,000,000 characters) at up to 3 UTF-8 bytes each.
  @BodyLimit(4 * 1024 * 1024)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Open a ticket on behalf of a customer (e.g. a phone call logged by hand)' })
  @ApiZodBody(CreateTicketBody)
  @ApiIdempotent()
  @ApiZodResponse(201, TicketDetailView, 'The new ticket with its timeline')
  @ApiErrors({
    403: 'The caller is not a member of the team',
    422: 'Unknown or mismatched inbox, no team, unknown team or category, or an assignee not in the team',
  })
  create(
    @CurrentAgent() agent: Viewer,
    @Body(new ZodValidationPipe(CreateTicketBody)) body: Parsed<typeof CreateTicketBody>,
  ) {
    return this.tickets.create(agent, body);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change status, priority, type, category, tags, team or assignee (optimistic `version`)' })
  @ApiTicketId()
  @ApiZodBody(UpdateTicketBody)
  @ApiZodResponse(200, TicketDetailView, 'The ticket as changed, with its timeline')
  @ApiErrors({
    409: 'Stale version (reason stale_version, currentVersion), or the ticket is closed (reason closed)',
    422: 'Invalid status transition, unknown team/category, assignee not in team',
  })
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
  @ApiTicketId()
  @ApiZodBody(MergeTicketBody)
  @ApiIdempotent()
  @ApiZodResponse(200, TicketDetailView, 'The target ticket with its timeline')
  @ApiErrors({
    404: 'This or the target ticket does not exist or is not visible',
    409: 'One of the tickets is closed (reason closed)',
    422: 'A ticket cannot be merged into itself',
  })
  merge(
    @CurrentAgent() agent: Viewer,
    @Param('id', IdParam) id: string,
    @Body(new ZodValidationPipe(MergeTicketBody)) body: Parsed<typeof MergeTicketBody>,
  ) {
    return this.tickets.merge(agent, id, body);
  }
}
