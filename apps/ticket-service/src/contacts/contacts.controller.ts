import { Body, Controller, Get, HttpCode, Param, Post, Query, UseInterceptors, applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiErrors,
  ApiUuid,
  ApiZodBody,
  ApiZodParam,
  ApiZodQuery,
  ApiZodResponse,
  IdParam,
  Parsed,
  ZodValidationPipe,
} from '@oq/platform';
import { AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { ApiIdempotent, IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { Viewer } from '../permissions/ticket-visibility';
import {
  ContactMergeView,
  ContactSearchQuery,
  ContactSearchResult,
  ContactView,
  MergeContactBody,
  MergeSuggestions,
} from './contacts.dto';
import { ContactsService } from './contacts.service';

const ApiContactId = () =>
  applyDecorators(
    ApiZodParam('id', ApiUuid, 'The contact id'),
    ApiErrors({ 404: 'No such contact, or none of its tickets is visible to the caller' }),
  );

@ApiTags('contacts')
@AgentAuth()
@Controller('v1/contacts')
export class ContactsController {
  constructor(private readonly contacts: ContactsService) {}

  @Get()
  @ApiOperation({ summary: 'Search contacts by a prefix of any identity (email, phone, handle) or of the name' })
  @ApiZodQuery(ContactSearchQuery)
  @ApiZodResponse(200, ContactSearchResult, 'Matching contacts, latest activity first')
  search(
    @CurrentAgent() agent: Viewer,
    @Query(new ZodValidationPipe(ContactSearchQuery)) query: Parsed<typeof ContactSearchQuery>,
  ) {
    return this.contacts.search(agent, query.q, query.limit);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A contact with its identities and every visible ticket across channels' })
  @ApiContactId()
  @ApiZodResponse(200, ContactView, 'The contact')
  get(@CurrentAgent() agent: Viewer, @Param('id', IdParam) id: string) {
    return this.contacts.get(agent, id);
  }

  @Get(':id/merge-suggestions')
  @ApiOperation({ summary: 'Contacts that may be the same person (spoofable evidence: merge by hand)' })
  @ApiContactId()
  @ApiZodResponse(200, MergeSuggestions, 'Open suggestions, newest first')
  suggestions(@CurrentAgent() agent: Viewer, @Param('id', IdParam) id: string) {
    return this.contacts.mergeSuggestions(agent, id);
  }

  @Post(':id/merge')
  @HttpCode(200)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Merge this contact into another: identities, tickets and messages move' })
  @ApiContactId()
  @ApiZodBody(MergeContactBody)
  @ApiIdempotent()
  @ApiZodResponse(200, ContactMergeView, 'The target contact, and what moved')
  @ApiErrors({ 422: 'The contacts cannot be merged (e.g. the same contact, or one already merged): see reason' })
  merge(
    @CurrentAgent() agent: Viewer,
    @Param('id', IdParam) id: string,
    @Body(new ZodValidationPipe(MergeContactBody)) body: Parsed<typeof MergeContactBody>,
  ) {
    return this.contacts.merge(agent, id, body.intoContactId);
  }
}
