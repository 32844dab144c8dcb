import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiErrors,
  ApiNoContent,
  ApiUuid,
  ApiZodBody,
  ApiZodParam,
  ApiZodQuery,
  ApiZodResponse,
  Parsed,
  ZodValidationPipe,
} from '@oq/platform';
import { z } from 'zod';
import { AdminOnly, AgentAuth } from '../auth/agent-auth.guard';
import { CreateInboxBody, InboxView, ListInboxesQuery, UpdateInboxBody } from './inboxes.dto';
import { InboxesService } from './inboxes.service';

const NOT_FOUND = { 404: 'No such inbox' };

/** Agents may list inboxes (to pick a reply channel); only admins change them. Secret values are never returned. */
@ApiTags('inboxes')
@Controller('v1/inboxes')
@AgentAuth()
export class InboxesController {
  constructor(private readonly inboxes: InboxesService) {}

  @Get()
  @ApiOperation({ summary: 'Every inbox (channel account), optionally of one channel' })
  @ApiZodQuery(ListInboxesQuery)
  @ApiZodResponse(200, z.array(InboxView), 'The inboxes, by channel and name')
  list(@Query(new ZodValidationPipe(ListInboxesQuery)) q: Parsed<typeof ListInboxesQuery>) {
    return this.inboxes.list(q.channel);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One inbox' })
  @ApiZodParam('id', ApiUuid, 'The inbox id')
  @ApiZodResponse(200, InboxView, 'The inbox')
  @ApiErrors(NOT_FOUND)
  get(@Param('id') id: string) {
    return this.inboxes.get(id);
  }

  @Post()
  @AdminOnly()
  @ApiOperation({ summary: "Create an inbox; settings and secrets are checked against the channel's schema" })
  @ApiZodBody(CreateInboxBody)
  @ApiZodResponse(201, InboxView, 'The new inbox (secret names only)')
  @ApiErrors({
    400: 'Invalid body, settings or secrets for the channel, or an unknown default team (`fields` names each)',
    409: 'An inbox with this channel and address already exists',
  })
  create(@Body(new ZodValidationPipe(CreateInboxBody)) body: Parsed<typeof CreateInboxBody>) {
    return this.inboxes.create(body);
  }

  @Patch(':id')
  @AdminOnly()
  @ApiOperation({ summary: 'Change an inbox: settings are replaced, secrets merged (null removes one)' })
  @ApiZodParam('id', ApiUuid, 'The inbox id')
  @ApiZodBody(UpdateInboxBody)
  @ApiZodResponse(200, InboxView, 'The inbox as changed')
  @ApiErrors({
    ...NOT_FOUND,
    400: 'Invalid body, settings or secrets for the channel, or an unknown default team (`fields` names each)',
    409: 'Another inbox has this channel and address',
  })
  update(@Param('id') id: string, @Body(new ZodValidationPipe(UpdateInboxBody)) body: Parsed<typeof UpdateInboxBody>) {
    return this.inboxes.update(id, body);
  }

  @Delete(':id')
  @AdminOnly()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an inbox that never carried a conversation (disable it otherwise)' })
  @ApiZodParam('id', ApiUuid, 'The inbox id')
  @ApiNoContent('Deleted')
  @ApiErrors({ ...NOT_FOUND, 409: 'The inbox has conversations or messages: disable it instead' })
  remove(@Param('id') id: string) {
    return this.inboxes.remove(id);
  }
}
