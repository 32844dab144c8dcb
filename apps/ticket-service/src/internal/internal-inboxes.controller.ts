import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Channel, InboxConfig } from '@oq/contracts';
import { ServiceTokenGuard, ZodValidationPipe } from '@oq/platform';
import { ListInboxesQuery } from '../inboxes/inboxes.dto';
import { InboxesService } from '../inboxes/inboxes.service';

/**
 * The internal API channel services call with x-service-token (libs/contracts
 * internal-api.ts): inboxes with decrypted secrets. Not in the public OpenAPI document.
 */
@ApiExcludeController()
@Controller('internal/inboxes')
@UseGuards(ServiceTokenGuard)
export class InternalInboxesController {
  constructor(private readonly inboxes: InboxesService) {}

  @Get()
  list(@Query(new ZodValidationPipe(ListInboxesQuery)) q: { channel?: Channel }): Promise<InboxConfig[]> {
    return this.inboxes.configs(q.channel);
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<InboxConfig> {
    return this.inboxes.configOf(id);
  }
}
