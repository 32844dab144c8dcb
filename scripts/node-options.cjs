'use strict';
// V8 flags per service: used by scripts/start-all.cjs and the benchmarks (bench/support/stack.ts);
// docker-compose.yml sets the same through NODE_OPTIONS.
//
// email-service: a backlog import churns through fetched mails faster than V8's default heap
// growth collects them (≈150 MB of promoted garbage before the first full GC on a 24 GiB host).
// Its main thread's live set stays small (parsing runs in worker threads, fetch batches are
// byte-bounded), so a modest old-space ceiling makes V8 collect early: RSS ≈ 220 MB instead of
// ≈ 350 MB during bench:email, at the same import rate.
//
// ticket-service: the same pattern under ingest load — bench:ingest ended with 76 MB of heap in use
// of 246 MB reserved, RSS peaking at 426–460 MB. Its JavaScript objects stay small (bodies and
// attachments are Buffers, outside the V8 heap), so the same ceiling leaves 3× the live set.
const NODE_OPTIONS = {
  'email-service': ['--max-old-space-size=256'],
  'ticket-service': ['--max-old-space-size=256'],
};

/** The node flags a service runs with (none for most). */
module.exports.nodeOptionsFor = (service) => NODE_OPTIONS[service] ?? [];
