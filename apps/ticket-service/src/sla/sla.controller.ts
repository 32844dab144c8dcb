import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
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
import { DataSource } from 'typeorm';
import { AdminOnly, AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { AuthenticatedAgent } from '../auth/authenticated-agent';
import { assertTicketVisible } from '../permissions/ticket-visibility';
import { SlaAdminService } from './sla-admin.service';
import { PolicyBody, PolicyDeleted, PolicyView, ScheduleBody, ScheduleView, SlaTrail } from './sla.dto';

const SCHEDULE_ID = ApiZodParam('id', ApiUuid, 'The schedule id');
const POLICY_ID = ApiZodParam('id', ApiUuid, 'The policy id');
const NO_SCHEDULE = { 404: 'No such schedule' };
const NO_POLICY = { 404: 'No such policy' };

@ApiTags('sla')
@Controller('v1/admin/sla')
@AdminOnly()
export class SlaAdminController {
  constructor(private readonly sla: SlaAdminService) {}

  @Get('schedules')
  @ApiOperation({ summary: 'Business-hours schedules, by name' })
  @ApiZodResponse(200, z.array(ScheduleView), 'The schedules')
  listSchedules() {
    return this.sla.listSchedules();
  }

  @Get('schedules/:id')
  @ApiOperation({ summary: 'One schedule' })
  @SCHEDULE_ID
  @ApiZodResponse(200, ScheduleView, 'The schedule')
  @ApiErrors(NO_SCHEDULE)
  getSchedule(@Param('id') id: string) {
    return this.sla.getSchedule(id);
  }

  @Post('schedules')
  @ApiOperation({ summary: 'Create a schedule (weekly intervals and holidays in a time zone)' })
  @ApiZodBody(ScheduleBody)
  @ApiZodResponse(201, ScheduleView, 'The new schedule')
  @ApiErrors({
    400: 'Invalid body, time zone or intervals',
    409: 'A schedule with this name already exists',
  })
  createSchedule(@Body(new ZodValidationPipe(ScheduleBody)) body: Parsed<typeof ScheduleBody>) {
    return this.sla.createSchedule(body);
  }

  @Put('schedules/:id')
  @ApiOperation({ summary: 'Replace a schedule' })
  @SCHEDULE_ID
  @ApiZodBody(ScheduleBody)
  @ApiZodResponse(200, ScheduleView, 'The schedule as replaced')
  @ApiErrors({
    ...NO_SCHEDULE,
    400: 'Invalid body, time zone or intervals',
    409: 'Another schedule has this name',
  })
  updateSchedule(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(ScheduleBody)) body: Parsed<typeof ScheduleBody>,
  ) {
    return this.sla.updateSchedule(id, body);
  }

  @Delete('schedules/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a schedule no policy uses' })
  @SCHEDULE_ID
  @ApiNoContent('Deleted')
  @ApiErrors({ ...NO_SCHEDULE, 409: 'A policy uses the schedule' })
  async deleteSchedule(@Param('id') id: string) {
    await this.sla.deleteSchedule(id);
  }

  @Get('policies')
  @ApiOperation({ summary: 'SLA policies: active first, in evaluation order' })
  @ApiZodResponse(200, z.array(PolicyView), 'The policies')
  listPolicies() {
    return this.sla.listPolicies();
  }

  @Get('policies/:id')
  @ApiOperation({ summary: 'One policy' })
  @POLICY_ID
  @ApiZodResponse(200, PolicyView, 'The policy')
  @ApiErrors(NO_POLICY)
  getPolicy(@Param('id') id: string) {
    return this.sla.getPolicy(id);
  }

  @Post('policies')
  @ApiOperation({ summary: 'Create a policy: conditions, targets per metric and priority, schedule, escalation' })
  @ApiZodBody(PolicyBody)
  @ApiZodResponse(201, PolicyView, 'The new policy')
  @ApiErrors({
    400: 'Invalid body, an unknown schedule, or business-time targets without a schedule',
    409: 'Another active policy has this position',
  })
  createPolicy(@Body(new ZodValidationPipe(PolicyBody)) body: Parsed<typeof PolicyBody>) {
    return this.sla.createPolicy(body);
  }

  @Put('policies/:id')
  @ApiOperation({ summary: 'Replace a policy (applies at each ticket’s next SLA event)' })
  @POLICY_ID
  @ApiZodBody(PolicyBody)
  @ApiZodResponse(200, PolicyView, 'The policy as replaced')
  @ApiErrors({
    ...NO_POLICY,
    400: 'Invalid body, an unknown schedule, or business-time targets without a schedule',
    409: 'Another active policy has this position',
  })
  updatePolicy(@Param('id') id: string, @Body(new ZodValidationPipe(PolicyBody)) body: Parsed<typeof PolicyBody>) {
    return this.sla.updatePolicy(id, body);
  }

  @Delete('policies/:id')
  @ApiOperation({ summary: 'Delete an unused policy; one clocks refer to is deactivated instead' })
  @POLICY_ID
  @ApiZodResponse(200, PolicyDeleted, 'What happened to it')
  @ApiErrors(NO_POLICY)
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
  @ApiOperation({ summary: "The ticket's SLA clocks with their trails" })
  @ApiZodParam('id', ApiUuid, 'The ticket id')
  @ApiZodResponse(200, SlaTrail, 'The clocks')
  @ApiErrors({ 404: 'No such ticket, or not visible to the caller' })
  async trail(@Param('id') id: string, @CurrentAgent() agent: AuthenticatedAgent) {
    await assertTicketVisible(this.ds, agent, id);
    return this.sla.trail(id);
  }
}
