import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Agents, their credentials and token version, presence and team membership.
 * Tables: agents, agent_teams.
 */
@Injectable()
export class AgentRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): AgentRepository {
    return new AgentRepository(db);
  }
}
