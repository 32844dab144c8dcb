import { Body, Controller, Param, Post, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { BodyLimit, ZodValidationPipe } from '@oq/platform';
import { AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { ApiZodBody, Parsed } from '../tickets/openapi';
import { IdParam } from '../tickets/tickets.controller';
import { Viewer } from '../tickets/viewer';
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
  @ApiZodBody(CreateMessageBody)
  @ApiResponse({ status: 201, description: 'The stored message (a reply is queued for delivery)' })
  @ApiResponse({
    status: 404,
    description:
      'The ticket is not visible, or an attachment is neither an upload of the caller nor on a ticket they can see ' +
      '(the same answer as an unknown hash)',
  })
  @ApiResponse({ status: 409, description: 'The ticket is closed' })
  @ApiResponse({
    status: 422,
    description:
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
