import { Global, Module } from '@nestjs/common';
import { AgentChanges } from './agent-changes';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';

/** Global for AgentChanges: the realtime gateway listens to it. */
@Global()
@Module({
  controllers: [AgentsController],
  providers: [AgentsService, AgentChanges],
  exports: [AgentChanges],
})
export class AgentsModule {}
