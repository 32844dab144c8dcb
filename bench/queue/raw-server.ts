/**
 * bench:queue's raw baseline: the least a server can do to answer GET /v1/queue — Fastify, one pg
 * pool of the service's size, the repository's own statement (queueStatement) for a viewer loaded
 * once at start, and the same filter and page (queueFilter, queuePage). No Nest, no auth, no validation
 * library, no logging: what the service spends beyond this is framework, auth and serialisation.
 * Env: DATABASE_URL, RAW_PORT, RAW_AGENT_EMAIL, DB_POOL_SIZE (5, as the service).
 */
import { OPEN_TICKET_STATUSES } from '@oq/contracts';
import { QueueRow, Viewer, queueStatement } from '@oq/database';
import Fastify from 'fastify';
import * as pg from 'pg';
import { QueueQuery } from '../../apps/ticket-service/src/queue/queue.dto';
import { queueFilter, queuePage } from '../../apps/ticket-service/src/queue/queue.service';

const list = (v: string | undefined) => (v ? v.split(',').filter(Boolean) : undefined);
const OPEN = new Set<string>(OPEN_TICKET_STATUSES);

async function main() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 5) });
  const {
    rows: [agent],
  } = await pool.query<{ id: string; role: Viewer['role']; team_ids: string[] }>(
    `SELECT a.id, a.role, coalesce(array_agg(t.team_id) FILTER (WHERE t.team_id IS NOT NULL), '{}') AS team_ids
       FROM agents a LEFT JOIN agent_teams t ON t.agent_id = a.id WHERE a.email = $1 GROUP BY a.id`,
    [process.env.RAW_AGENT_EMAIL],
  );
  if (!agent) throw new Error(`no agent ${process.env.RAW_AGENT_EMAIL}`);
  const viewer: Viewer = { id: agent.id, role: agent.role, teamIds: agent.team_ids };

  const app = Fastify({ logger: false });
  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/queue', async (req, reply) => {
    const q = req.query;
    const limit = Number(q.limit ?? 25);
    const status = list(q.status);
    if (!(limit >= 1 && limit <= 100) || status?.some((s) => !OPEN.has(s)))
      return reply.code(400).send({ message: 'bad query' });
    const query = {
      status: status as QueueQuery['status'],
      channel: list(q.channel) as QueueQuery['channel'],
      teamId: q.teamId,
      assignee: q.assignee,
      tag: q.tag,
      categoryId: q.categoryId,
      limit,
      cursor: q.cursor,
    };
    const filter = queueFilter(viewer, query);
    if (!filter) return reply.code(400).send({ message: 'bad cursor' });
    const statement = queueStatement(viewer, filter);
    const { rows } = await pool.query<QueueRow>(statement.text, statement.params);
    return queuePage(rows, limit);
  });
  await app.listen({ port: Number(process.env.RAW_PORT), host: '127.0.0.1' });
  // The parent waits for this line.
  console.log('raw queue server listening');
  const stop = () => void app.close().then(() => pool.end().then(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
