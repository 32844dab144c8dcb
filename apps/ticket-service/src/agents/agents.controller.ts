import { Body, Controller, Delete, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@oq/platform';
import { AdminOnly, AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { AuthenticatedAgent } from '../auth/authenticated-agent';
import { CreateAgentBody, UpdateAgentBody } from './agents.dto';
import { AgentsService } from './agents.service';

/** Agents may list colleagues (to assign tickets); only admins create, change or deactivate them. */
@ApiTags('agents')
@Controller('v1/agents')
@AgentAuth()
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Get()
  list() {
    return this.agents.list();
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.agents.get(id);
  }

  @Post()
  @AdminOnly()
  create(@Body(new ZodValidationPipe(CreateAgentBody)) body: CreateAgentBody) {
    return this.agents.create(body);
  }

  @Patch(':id')
  @AdminOnly()
  update(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(UpdateAgentBody)) body: UpdateAgentBody,
    @CurrentAgent() actor: AuthenticatedAgent,
  ) {
    return this.agents.update(id, body, actor.id);
  }

  @Delete(':id')
  @AdminOnly()
  deactivate(@Param('id') id: string, @CurrentAgent() actor: AuthenticatedAgent) {
    return this.agents.deactivate(id, actor.id);
  }
}
