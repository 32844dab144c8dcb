import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@oq/platform';
import { DataSource } from 'typeorm';
import { AdminOnly, AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { AuthenticatedAgent } from '../auth/authenticated-agent';
import { assertTicketVisible } from '../permissions/ticket-visibility';
import { SlaAdminService } from './sla-admin.service';
import { PolicyBody, ScheduleBody } from './sla.dto';

@ApiTags('sla')
@Controller('v1/admin/sla')
@AdminOnly()
export class SlaAdminController {
  constructor(private readonly sla: SlaAdminService) {}

  @Get('schedules')
  listSchedules() {
    return this.sla.listSchedules();
  }

  @Get('schedules/:id')
  getSchedule(@Param('id') id: string) {
    return this.sla.getSchedule(id);
  }

  @Post('schedules')
  createSchedule(@Body(new ZodValidationPipe(ScheduleBody)) body: ScheduleBody) {
    return this.sla.createSchedule(body);
  }

  @Put('schedules/:id')
  updateSchedule(@Param('id') id: string, @Body(new ZodValidationPipe(ScheduleBody)) body: ScheduleBody) {
    return this.sla.updateSchedule(id, body);
  }

  @Delete('schedules/:id')
  @HttpCode(204)
  async deleteSchedule(@Param('id') id: string) {
    await this.sla.deleteSchedule(id);
  }

  @Get('policies')
  listPolicies() {
    return this.sla.listPolicies();
  }

  @Get('policies/:id')
  getPolicy(@Param('id') id: string) {
    return this.sla.getPolicy(id);
  }

  @Post('policies')
  createPolicy(@Body(new ZodValidationPipe(PolicyBody)) body: PolicyBody) {
    return this.sla.createPolicy(body);
  }

  @Put('policies/:id')
  updatePolicy(@Param('id') id: string, @Body(new ZodValidationPipe(PolicyBody)) body: PolicyBody) {
    return this.sla.updatePolicy(id, body);
  }

  @Delete('policies/:id')
  deletePolicy(@Param('id') id: string) {
    return this.sla.deletePolicy(id);
  }
}

/** The clock trail of one ticket, for whoever may see the ticket. */
@ApiTags('sla')
@Controller('v1/tickets')
@AgentAuth()
export class TicketSlaController {
  constructor(
    private readonly sla: SlaAdminService,
    private readonly ds: DataSource,
  ) {}

  @Get(':id/sla')
  async trail(@Param('id') id: string, @CurrentAgent() agent: AuthenticatedAgent) {
    await assertTicketVisible(this.ds.manager, agent, id);
    return this.sla.trail(id);
  }
}
