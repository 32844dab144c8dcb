import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Channel } from '@oq/contracts';
import { ZodValidationPipe } from '@oq/platform';
import { AdminOnly, AgentAuth } from '../auth/agent-auth.guard';
import { CreateInboxBody, ListInboxesQuery, UpdateInboxBody } from './inboxes.dto';
import { InboxesService } from './inboxes.service';

/** Agents may list inboxes (to pick a reply channel); only admins change them. Secret values are never returned. */
@ApiTags('inboxes')
@Controller('v1/inboxes')
@AgentAuth()
export class InboxesController {
  constructor(private readonly inboxes: InboxesService) {}

  @Get()
  list(@Query(new ZodValidationPipe(ListInboxesQuery)) q: { channel?: Channel }) {
    return this.inboxes.list(q.channel);
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.inboxes.get(id);
  }

  @Post()
  @AdminOnly()
  create(@Body(new ZodValidationPipe(CreateInboxBody)) body: CreateInboxBody) {
    return this.inboxes.create(body);
  }

  @Patch(':id')
  @AdminOnly()
  update(@Param('id') id: string, @Body(new ZodValidationPipe(UpdateInboxBody)) body: UpdateInboxBody) {
    return this.inboxes.update(id, body);
  }

  @Delete(':id')
  @AdminOnly()
  @HttpCode(204)
  remove(@Param('id') id: string) {
    return this.inboxes.remove(id);
  }
}
