import { Body, Controller, Param, Post, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiZodBody, ApiZodResponse, BodyLimit, IdParam, Parsed, ZodValidationPipe } from '@oq/platform';
import { AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { ApiIdempotent, IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { MessageView } from '../tickets/ticket.dto';
import { ApiTicketId } from '../tickets/tickets.controller';
import { Viewer } from '../permissions/ticket-visibility';
import { CreateMessageBody } from './message.dto';
import { RepliesService } from './replies.service';

@ApiTags('tickets')
@AgentAuth()
@Controller('v1/tickets/:id/messages')
export class MessagesController {
  constructor(private readonly replies: RepliesService) {}

  @Post()
  // text up to 1,000,000 and html up to 5,000,000 characters (CreateMessageBody) at up to 3 UTF-8 bytes each.
  @BodyLimit(20 * 1024 * 1024)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({
    summary: 'Reply to the customer (on the ticket channel, or a chosen channel/inbox) or add an internal note',
  })
  @ApiTicketId()
  @ApiZodBody(CreateMessageBody)
  @ApiIdempotent()
  @ApiZodResponse(201, MessageView, 'The stored message (a reply is queued for delivery)')
  @ApiErrors({
    404:
      'The ticket is not visible, or an attachment is neither an upload of the caller nor on a ticket they can see ' +
      '(the same answer as an unknown hash)',
    409: 'The ticket is closed (reason closed)',
    422:
      'No way to reach the customer on that channel (voice, no identity, no inbox), a Meta platform rule, ' +
      'or a card number in the text, HTML or template parameters (reason card_number_in_reply)',
  })
  create(
    @CurrentAgent() agent: Viewer,
    @Param('id', IdParam) id: string,
    @Body(new ZodValidationPipe(CreateMessageBody)) body: Parsed<typeof CreateMessageBody>,
  ) {
    return this.replies.create(agent, id, body);
  }
}
