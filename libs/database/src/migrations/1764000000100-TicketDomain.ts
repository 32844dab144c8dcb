import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ticket domain: agents and teams, inboxes, contacts and identities,
 * conversations, tickets, messages, SLA tables, outbox and dead letters.
 * Owned by ticket-service; other services reach it through queues and the internal API.
 */
export class TicketDomain1764000000100 implements MigrationInterface {
  name = 'TicketDomain1764000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE teams (
        id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name       text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE agents (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email         text NOT NULL,
        name          text NOT NULL,
        password_hash text NOT NULL,
        role          text NOT NULL DEFAULT 'agent' CHECK (role IN ('admin', 'agent')),
        presence      text NOT NULL DEFAULT 'offline' CHECK (presence IN ('online', 'away', 'offline')),
        presence_at   timestamptz,
        active        boolean NOT NULL DEFAULT true,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX agents_email_key ON agents (lower(email));

      CREATE TABLE agent_teams (
        agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        team_id  uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        PRIMARY KEY (agent_id, team_id)
      );
      CREATE INDEX agent_teams_team_idx ON agent_teams (team_id);

      CREATE TABLE inboxes (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name            text NOT NULL,
        channel         text NOT NULL CHECK (channel IN ('email','whatsapp','messenger','instagram','telegram','voice','chat')),
        -- The account's address on its channel: mailbox address, WhatsApp phone-number id, page id, bot id, hotline number, widget key.
        address         text NOT NULL,
        default_team_id uuid NOT NULL REFERENCES teams(id),
        settings        jsonb NOT NULL DEFAULT '{}',
        -- AES-256-GCM ciphertext naming its key id; never plaintext (see SecretBox).
        secrets         text,
        enabled         boolean NOT NULL DEFAULT true,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (channel, address)
      );

      CREATE TABLE contacts (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name           text,
        merged_into_id uuid REFERENCES contacts(id),
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE contact_identities (
        id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        contact_id         uuid NOT NULL REFERENCES contacts(id),
        kind               text NOT NULL CHECK (kind IN ('email','phone','whatsapp','messenger','instagram','telegram','app_user','visitor')),
        value              text NOT NULL,
        verified           boolean NOT NULL DEFAULT false,
        -- A WhatsApp wa_id points at the E.164 phone identity it belongs to (not equal to it).
        linked_identity_id uuid REFERENCES contact_identities(id),
        created_at         timestamptz NOT NULL DEFAULT now(),
        UNIQUE (kind, value)
      );
      CREATE INDEX contact_identities_contact_idx ON contact_identities (contact_id);
      CREATE INDEX contact_identities_value_prefix_idx ON contact_identities (value text_pattern_ops);

      CREATE TABLE merge_suggestions (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        contact_id       uuid NOT NULL REFERENCES contacts(id),
        other_contact_id uuid NOT NULL REFERENCES contacts(id),
        reason           text NOT NULL,
        status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open','merged','dismissed')),
        created_at       timestamptz NOT NULL DEFAULT now(),
        UNIQUE (contact_id, other_contact_id)
      );

      CREATE TABLE categories (
        id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name       text NOT NULL UNIQUE,
        active     boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO categories (name) VALUES ('transaction failed'), ('refund'), ('account change'), ('security'), ('general');

      CREATE SEQUENCE ticket_number_seq START 10000;

      CREATE TABLE tickets (
        id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        number                   bigint NOT NULL UNIQUE DEFAULT nextval('ticket_number_seq'),
        subject                  text NOT NULL DEFAULT '',
        status                   text NOT NULL DEFAULT 'new' CHECK (status IN ('new','open','pending','on_hold','solved','closed')),
        priority                 text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low','normal','high','urgent')),
        -- Sort key for the queue: higher is more urgent.
        priority_rank            smallint GENERATED ALWAYS AS (
                                   CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END) STORED,
        type                     text NOT NULL DEFAULT 'question' CHECK (type IN ('question','problem','incident','task')),
        category_id              uuid REFERENCES categories(id),
        tags                     text[] NOT NULL DEFAULT '{}',
        team_id                  uuid NOT NULL REFERENCES teams(id),
        assignee_id              uuid REFERENCES agents(id),
        requester_id             uuid NOT NULL REFERENCES contacts(id),
        channel                  text NOT NULL,
        inbox_id                 uuid REFERENCES inboxes(id),
        follow_up_of_id          uuid REFERENCES tickets(id),
        merged_into_id           uuid REFERENCES tickets(id),
        version                  integer NOT NULL DEFAULT 1,
        next_due_at              timestamptz,
        first_reply_at           timestamptz,
        solved_at                timestamptz,
        closed_at                timestamptz,
        last_customer_message_at timestamptz,
        last_agent_reply_at      timestamptz,
        customer_message_count   integer NOT NULL DEFAULT 0,
        agent_reply_count        integer NOT NULL DEFAULT 0,
        created_at               timestamptz NOT NULL DEFAULT now(),
        updated_at               timestamptz NOT NULL DEFAULT now()
      );
      -- The unified queue reads only unsolved work, ordered by due time, priority, age:
      -- partial indexes keep it small however many solved tickets accumulate.
      CREATE INDEX tickets_queue_idx ON tickets (next_due_at, priority_rank DESC, created_at, id)
        WHERE status IN ('new','open','pending','on_hold');
      CREATE INDEX tickets_queue_team_idx ON tickets (team_id, next_due_at, priority_rank DESC, created_at, id)
        WHERE status IN ('new','open','pending','on_hold');
      CREATE INDEX tickets_assignee_idx ON tickets (assignee_id) WHERE assignee_id IS NOT NULL;
      CREATE INDEX tickets_requester_idx ON tickets (requester_id, updated_at DESC);
      CREATE INDEX tickets_tags_idx ON tickets USING gin (tags);
      CREATE INDEX tickets_solved_idx ON tickets (solved_at) WHERE status = 'solved';

      CREATE TABLE ticket_participants (
        ticket_id  uuid NOT NULL REFERENCES tickets(id),
        contact_id uuid NOT NULL REFERENCES contacts(id),
        role       text NOT NULL CHECK (role IN ('requester','cc')),
        PRIMARY KEY (ticket_id, contact_id)
      );
      CREATE INDEX ticket_participants_contact_idx ON ticket_participants (contact_id);

      CREATE TABLE conversations (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        inbox_id    uuid NOT NULL REFERENCES inboxes(id),
        identity_id uuid NOT NULL REFERENCES contact_identities(id),
        ticket_id   uuid NOT NULL REFERENCES tickets(id),
        -- When the customer last wrote on this pair (Meta's 24-hour window).
        last_inbound_at timestamptz,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        UNIQUE (inbox_id, identity_id)
      );
      CREATE INDEX conversations_ticket_idx ON conversations (ticket_id);

      CREATE TABLE messages (
        id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        ticket_id           uuid NOT NULL REFERENCES tickets(id),
        inbox_id            uuid REFERENCES inboxes(id),
        channel             text,
        direction           text NOT NULL CHECK (direction IN ('inbound','outbound','internal')),
        kind                text NOT NULL DEFAULT 'message' CHECK (kind IN ('message','note','call_log','system')),
        author_agent_id     uuid REFERENCES agents(id),
        author_contact_id   uuid REFERENCES contacts(id),
        -- Recipient identity of an outbound message (the channel it went out on).
        to_identity_id      uuid REFERENCES contact_identities(id),
        external_id         text,
        revision            integer NOT NULL DEFAULT 0,
        subject             text,
        text                text NOT NULL DEFAULT '',
        html                text,
        attachments         jsonb NOT NULL DEFAULT '[]',
        metadata            jsonb NOT NULL DEFAULT '{}',
        email_message_id    text,
        auto_submitted      boolean NOT NULL DEFAULT false,
        delivery_status     text CHECK (delivery_status IN ('queued','sent','delivered','read','failed')),
        delivery_reason     text,
        delivery_error_code text,
        provider_message_id text,
        source_time         timestamptz NOT NULL DEFAULT now(),
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now()
      );
      -- Idempotent ingest: one row per source message per inbox, whatever the retries.
      CREATE UNIQUE INDEX messages_external_idx ON messages (inbox_id, external_id) WHERE external_id IS NOT NULL;
      CREATE UNIQUE INDEX messages_provider_idx ON messages (inbox_id, provider_message_id) WHERE provider_message_id IS NOT NULL;
      CREATE INDEX messages_ticket_idx ON messages (ticket_id, created_at, id);
      CREATE INDEX messages_email_message_id_idx ON messages (email_message_id) WHERE email_message_id IS NOT NULL;

      CREATE TABLE parked_delivery_reports (
        id                  bigserial PRIMARY KEY,
        inbox_id            uuid NOT NULL,
        provider_message_id text NOT NULL,
        status              text NOT NULL,
        reason              text,
        error_code          text,
        occurred_at         timestamptz NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX parked_delivery_reports_idx ON parked_delivery_reports (inbox_id, provider_message_id);

      CREATE TABLE ticket_audit (
        id             bigserial PRIMARY KEY,
        ticket_id      uuid NOT NULL REFERENCES tickets(id),
        actor_type     text NOT NULL CHECK (actor_type IN ('agent','customer','system')),
        actor_agent_id uuid REFERENCES agents(id),
        action         text NOT NULL,
        changes        jsonb NOT NULL DEFAULT '{}',
        created_at     timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX ticket_audit_ticket_idx ON ticket_audit (ticket_id, id);

      CREATE TABLE sla_schedules (
        id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name       text NOT NULL UNIQUE,
        timezone   text NOT NULL,
        weekly     jsonb NOT NULL DEFAULT '[]',
        holidays   jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE sla_policies (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name            text NOT NULL,
        position        integer NOT NULL,
        conditions      jsonb NOT NULL DEFAULT '{}',
        targets         jsonb NOT NULL DEFAULT '{}',
        schedule_id     uuid REFERENCES sla_schedules(id),
        warning_percent integer CHECK (warning_percent BETWEEN 1 AND 99),
        active          boolean NOT NULL DEFAULT true,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX sla_policies_position_idx ON sla_policies (position) WHERE active;

      CREATE TABLE ticket_sla (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        ticket_id      uuid NOT NULL REFERENCES tickets(id),
        metric         text NOT NULL CHECK (metric IN ('first_reply','next_reply','resolution')),
        policy_id      uuid REFERENCES sla_policies(id),
        state          text NOT NULL CHECK (state IN ('active','paused','fulfilled','breached','cancelled')),
        business_time  boolean NOT NULL DEFAULT false,
        target_seconds integer NOT NULL,
        started_at     timestamptz NOT NULL,
        due_at         timestamptz,
        warn_at        timestamptz,
        warned_at      timestamptz,
        paused_at      timestamptz,
        paused_seconds integer NOT NULL DEFAULT 0,
        fulfilled_at   timestamptz,
        breached_at    timestamptz,
        version        integer NOT NULL DEFAULT 1,
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now()
      );
      -- One running instance per metric; next_reply has many over a ticket's life.
      CREATE UNIQUE INDEX ticket_sla_running_idx ON ticket_sla (ticket_id, metric) WHERE state IN ('active','paused');
      -- The reconciler's scan: running clocks by due time.
      CREATE INDEX ticket_sla_due_idx ON ticket_sla (due_at) WHERE state = 'active';
      CREATE INDEX ticket_sla_warn_idx ON ticket_sla (warn_at) WHERE state = 'active' AND warned_at IS NULL;

      CREATE TABLE ticket_sla_events (
        id                bigserial PRIMARY KEY,
        ticket_sla_id     uuid NOT NULL REFERENCES ticket_sla(id),
        kind              text NOT NULL CHECK (kind IN ('activate','pause','resume','fulfil','warn','breach','retarget','cancel')),
        at                timestamptz NOT NULL,
        business_seconds  integer,
        calendar_seconds  integer,
        data              jsonb NOT NULL DEFAULT '{}'
      );
      CREATE INDEX ticket_sla_events_sla_idx ON ticket_sla_events (ticket_sla_id, id);

      -- Transactional outbox: rows written with the change, moved to BullMQ by the relay.
      CREATE TABLE outbox (
        id         bigserial PRIMARY KEY,
        queue      text NOT NULL,
        job_name   text NOT NULL,
        job_id     text,
        payload    jsonb NOT NULL,
        delay_ms   integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('outbox', '');
        RETURN NULL;
      END $$;
      -- Statement-level: one wake-up per committing statement, delivered at commit.
      CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

      CREATE TABLE dead_letters (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        queue        text NOT NULL,
        job_name     text NOT NULL,
        job_id       text,
        payload      jsonb NOT NULL,
        reason       text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        replayed_at  timestamptz,
        replay_count integer NOT NULL DEFAULT 0
      );
      CREATE INDEX dead_letters_open_idx ON dead_letters (created_at DESC) WHERE replayed_at IS NULL;

      CREATE TABLE idempotency_keys (
        agent_id    uuid NOT NULL,
        key         text NOT NULL,
        method      text NOT NULL,
        path        text NOT NULL,
        body_hash   text NOT NULL,
        status_code integer,
        response    jsonb,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (agent_id, key)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE idempotency_keys, dead_letters, outbox, ticket_sla_events, ticket_sla, sla_policies, sla_schedules,
        ticket_audit, parked_delivery_reports, messages, conversations, ticket_participants, tickets, categories,
        merge_suggestions, contact_identities, contacts, inboxes, agent_teams, agents, teams CASCADE;
      DROP SEQUENCE ticket_number_seq;
      DROP FUNCTION outbox_notify();
    `);
  }
}
