import { Body, Controller, Get, HttpCode, Param, Post, Query, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@oq/platform';
import { AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { ApiZodBody, ApiZodQuery, Parsed } from '../tickets/openapi';
import { IdParam } from '../tickets/tickets.controller';
import { Viewer } from '../tickets/viewer';
import { ContactSearchQuery, MergeContactBody } from './contacts.dto';
import { ContactsService } from './contacts.service';

@ApiTags('contacts')
@AgentAuth()
@Controller('v1/contacts')
export class ContactsController {
  constructor(private readonly contacts: ContactsService) {}

  @Get()
  @ApiOperation({ summary: 'Search contacts by a prefix of any identity (email, phone, handle) or of the name' })
  @ApiZodQuery(ContactSearchQuery)
  search(
    @CurrentAgent() agent: Viewer,
    @Query(new ZodValidationPipe(ContactSearchQuery)) query: Parsed<typeof ContactSearchQuery>,
  ) {
    return this.contacts.search(agent, query.q, query.limit);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A contact with its identities and every visible ticket across channels' })
  get(@CurrentAgent() agent: Viewer, @Param('id', IdParam) id: string) {
    return this.contacts.get(agent, id);
  }

  @Get(':id/merge-suggestions')
  @ApiOperation({ summary: 'Contacts that may be the same person (spoofable evidence: merge by hand)' })
  suggestions(@CurrentAgent() agent: Viewer, @Param('id', IdParam) id: string) {
    return this.contacts.mergeSuggestions(agent, id);
  }

  @Post(':id/merge')
  @HttpCode(200)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Merge this contact into another: identities, tickets and messages move' })
  @ApiZodBody(MergeContactBody)
  merge(
    @CurrentAgent() agent: Viewer,
    @Param('id', IdParam) id: string,
    @Body(new ZodValidationPipe(MergeContactBody)) body: Parsed<typeof MergeContactBody>,
  ) {
    return this.contacts.merge(agent, id, body.intoContactId);
  }
}
