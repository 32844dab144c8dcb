import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@oq/platform';
import { AdminOnly, AgentAuth } from '../auth/agent-auth.guard';
import { TeamBody } from './teams.dto';
import { TeamsService } from './teams.service';

/** Every agent may read teams (to transfer a ticket); only admins change them. */
@ApiTags('teams')
@Controller('v1/teams')
@AgentAuth()
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @Get()
  list() {
    return this.teams.list();
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.teams.get(id);
  }

  @Post()
  @AdminOnly()
  create(@Body(new ZodValidationPipe(TeamBody)) body: TeamBody) {
    return this.teams.create(body.name);
  }

  @Patch(':id')
  @AdminOnly()
  update(@Param('id') id: string, @Body(new ZodValidationPipe(TeamBody)) body: TeamBody) {
    return this.teams.rename(id, body.name);
  }

  @Delete(':id')
  @AdminOnly()
  @HttpCode(204)
  remove(@Param('id') id: string) {
    return this.teams.remove(id);
  }
}
