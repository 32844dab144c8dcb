import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiErrors,
  ApiNoContent,
  ApiUuid,
  ApiZodBody,
  ApiZodParam,
  ApiZodResponse,
  Parsed,
  ZodValidationPipe,
} from '@oq/platform';
import { z } from 'zod';
import { AdminOnly, AgentAuth } from '../auth/agent-auth.guard';
import { TeamBody, TeamView } from './teams.dto';
import { TeamsService } from './teams.service';

const NOT_FOUND = { 404: 'No such team' };
const NAME_TAKEN = { 409: 'A team with this name already exists' };

/** Every agent may read teams (to transfer a ticket); only admins change them. */
@ApiTags('teams')
@Controller('v1/teams')
@AgentAuth()
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @Get()
  @ApiOperation({ summary: 'Every team, by name, with its member count' })
  @ApiZodResponse(200, z.array(TeamView), 'The teams')
  list() {
    return this.teams.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'One team' })
  @ApiZodParam('id', ApiUuid, 'The team id')
  @ApiZodResponse(200, TeamView, 'The team')
  @ApiErrors(NOT_FOUND)
  get(@Param('id') id: string) {
    return this.teams.get(id);
  }

  @Post()
  @AdminOnly()
  @ApiOperation({ summary: 'Create a team' })
  @ApiZodBody(TeamBody)
  @ApiZodResponse(201, TeamView, 'The new team')
  @ApiErrors(NAME_TAKEN)
  create(@Body(new ZodValidationPipe(TeamBody)) body: Parsed<typeof TeamBody>) {
    return this.teams.create(body.name);
  }

  @Patch(':id')
  @AdminOnly()
  @ApiOperation({ summary: 'Rename a team' })
  @ApiZodParam('id', ApiUuid, 'The team id')
  @ApiZodBody(TeamBody)
  @ApiZodResponse(200, TeamView, 'The renamed team')
  @ApiErrors({ ...NOT_FOUND, ...NAME_TAKEN })
  update(@Param('id') id: string, @Body(new ZodValidationPipe(TeamBody)) body: Parsed<typeof TeamBody>) {
    return this.teams.rename(id, body.name);
  }

  @Delete(':id')
  @AdminOnly()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a team that owns no tickets or inboxes (its members are released)' })
  @ApiZodParam('id', ApiUuid, 'The team id')
  @ApiNoContent('Deleted')
  @ApiErrors({ ...NOT_FOUND, 409: 'The team still owns tickets or inboxes: move them first' })
  remove(@Param('id') id: string) {
    return this.teams.remove(id);
  }
}
