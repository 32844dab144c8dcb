import { Body, Controller, Delete, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiUuid, ApiZodBody, ApiZodParam, ApiZodResponse, Parsed, ZodValidationPipe } from '@oq/platform';
import { z } from 'zod';
import { AdminOnly, AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { AuthenticatedAgent } from '../auth/authenticated-agent';
import { AgentView, CreateAgentBody, UpdateAgentBody } from './agents.dto';
import { AgentsService } from './agents.service';

const NOT_FOUND = { 404: 'No such agent' };

/** Agents may list colleagues (to assign tickets); only admins create, change or deactivate them. */
@ApiTags('agents')
@Controller('v1/agents')
@AgentAuth()
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Get()
  @ApiOperation({ summary: 'Every agent, active first, by name' })
  @ApiZodResponse(200, z.array(AgentView), 'The agents')
  list() {
    return this.agents.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'One agent' })
  @ApiZodParam('id', ApiUuid, 'The agent id')
  @ApiZodResponse(200, AgentView, 'The agent')
  @ApiErrors(NOT_FOUND)
  get(@Param('id') id: string) {
    return this.agents.get(id);
  }

  @Post()
  @AdminOnly()
  @ApiOperation({ summary: 'Create an agent with a password and teams' })
  @ApiZodBody(CreateAgentBody)
  @ApiZodResponse(201, AgentView, 'The new agent')
  @ApiErrors({ 409: 'An agent with this email already exists' })
  create(@Body(new ZodValidationPipe(CreateAgentBody)) body: Parsed<typeof CreateAgentBody>) {
    return this.agents.create(body);
  }

  @Patch(':id')
  @AdminOnly()
  @ApiOperation({
    summary: 'Change an agent: email, name, password (revokes their tokens), role, teams, active',
  })
  @ApiZodParam('id', ApiUuid, 'The agent id')
  @ApiZodBody(UpdateAgentBody)
  @ApiZodResponse(200, AgentView, 'The agent as changed')
  @ApiErrors({
    ...NOT_FOUND,
    400: 'Invalid body, an unknown team, or an admin demoting or deactivating themselves',
    409: 'Another agent has this email',
  })
  update(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(UpdateAgentBody)) body: Parsed<typeof UpdateAgentBody>,
    @CurrentAgent() actor: AuthenticatedAgent,
  ) {
    return this.agents.update(id, body, actor.id);
  }

  @Delete(':id')
  @AdminOnly()
  @ApiOperation({ summary: 'Deactivate an agent (agents are never deleted: their messages keep their author)' })
  @ApiZodParam('id', ApiUuid, 'The agent id')
  @ApiZodResponse(200, AgentView, 'The agent, now inactive')
  @ApiErrors({ ...NOT_FOUND, 400: 'An admin deactivating themselves' })
  deactivate(@Param('id') id: string, @CurrentAgent() actor: AuthenticatedAgent) {
    return this.agents.deactivate(id, actor.id);
  }
}
