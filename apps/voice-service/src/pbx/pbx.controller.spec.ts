import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  TestDatabase,
  TEST_REDIS_URL,
} from '@oq/database/testing/test-env';
import { INBOX_CHANGED_CHANNEL } from '@oq/contracts';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { until } from '../../../../test/support/until';
import {
  FakeInboxApi,
  FakeRecordingServer,
  VoiceStack,
  callLogJobs,
  postPbx,
  startVoiceService,
  waitForCallLogs,
  waitForSettledCall,
} from '../testing/voice-test-kit';

const SECRET = 'pbx-signing-secret-0123456789abcdef';

describe('generic PBX call records (HMAC-SHA256 over timestamp.body)', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  let api: FakeInboxApi;
  let files: FakeRecordingServer;
  /** An internal web server nobody allow-listed (think: an admin console on the PBX's network). */
  let internal: FakeRecordingServer;
  let voice: VoiceStack;
  let pg: Client;
  let inboxId: string;
  let n = 0;
  const callId = () => `asterisk-${Date.now()}.${n++}`;
  const record = (id: string, over: Record<string, unknown> = {}) => ({
    callId: id,
    direction: 'inbound',
    from: '(415) 555-2671',
    to: '+18005550100',
    agent: 'alice',
    queue: 'billing',
    startedAt: '2026-11-25T10:00:00Z',
    answeredAt: '2026-11-25T10:00:10Z',
    endedAt: '2026-11-25T10:02:10Z',
    disposition: 'answered',
    ...over,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    api = await new FakeInboxApi().start();
    files = await new FakeRecordingServer().start();
    internal = await new FakeRecordingServer().start();
    inboxId = api.add({ secrets: { signingSecret: SECRET } }).id;
    voice = await startVoiceService(db, prefix, { TICKET_SERVICE_URL: api.url, FETCH_ALLOW_HOSTS: files.host });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await voice?.close();
    await pg?.end();
    await api?.close();
    await files?.close();
    await internal?.close();
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  const rows = async (id: string) => (await pg.query('SELECT * FROM voice_calls WHERE call_id = $1', [id])).rows;

  it('logs an answered call with agent, queue and E.164 caller; a repeated record changes nothing', async () => {
    const id = callId();
    const ringing = record(id, { answeredAt: undefined, endedAt: undefined, disposition: undefined });
    expect(await (await postPbx(voice.base, inboxId, SECRET, ringing)).json()).toEqual({ status: 'stored' });
    // Committed before the 200, and not final: it owes no call log and nothing is scheduled for it.
    expect((await rows(id))[0]).toMatchObject({ final: false, target_revision: null, next_work_at: null });
    expect((await postPbx(voice.base, inboxId, SECRET, record(id))).status).toBe(200);
    // The final record's emission runs after any earlier run for this call: once the call owes nothing,
    // a call log of the ringing record would be on the queue — as revision 0, before this one.
    await waitForSettledCall(pg, id);
    const [job, ...more] = await callLogJobs(voice.inbound, id);
    expect(more).toEqual([]); // not final yet: the ringing record left no call log
    expect(job.data).toMatchObject({
      kind: 'call_log',
      revision: 0,
      sourceTime: '2026-11-25T10:00:00.000Z',
      sender: { kind: 'phone', value: '+14155552671' },
      call: {
        disposition: 'answered',
        from: '+14155552671',
        agent: 'alice',
        queue: 'billing',
        durationSec: 120,
        answeredAt: '2026-11-25T10:00:10.000Z',
      },
    });
    expect(job.data.text).toBe('Inbound call from +14155552671 (answered, 2 min), agent alice, queue billing.');

    const again = await postPbx(voice.base, inboxId, SECRET, record(id));
    expect(await again.json()).toEqual({ status: 'duplicate' });
    // Committed before the 200: the repeat was not folded in and owes nothing, so no request or sweep
    // (it takes only rows with work scheduled) will emit a revision for it.
    expect((await rows(id))[0]).toMatchObject({ emitted_revision: 0, target_revision: 0, next_work_at: null });
    expect((await rows(id))[0].events).toHaveLength(2); // ringing and final
    // A correction sent after the repeat owes the next revision: had the repeat emitted one, the
    // correction would be revision 2, and it is emitted after anything the repeat set off.
    const corrected = record(id, { transcript: 'Thanks, sorted' });
    expect(await (await postPbx(voice.base, inboxId, SECRET, corrected)).json()).toEqual({ status: 'stored' });
    await waitForSettledCall(pg, id);
    expect((await callLogJobs(voice.inbound, id)).map((j) => [j.data.revision, j.data.call?.transcript])).toEqual([
      [0, undefined],
      [1, 'Thanks, sorted'],
    ]);
  });

  it('logs a voicemail whose recording is unreachable with its URL, and masks card numbers in the transcript', async () => {
    const id = callId();
    const res = await postPbx(
      voice.base,
      inboxId,
      SECRET,
      record(id, {
        answeredAt: undefined,
        disposition: 'voicemail',
        recordingUrl: `${files.url}/missing.wav`,
        transcript: 'Hi, my card 5500-0000-0000-0004 was blocked, call me back',
      }),
    );
    expect(res.status).toBe(200);
    const [job] = await waitForCallLogs(voice.inbound, id, 1);
    expect(job.data.call).toMatchObject({ disposition: 'voicemail', recordingUrl: `${files.url}/missing.wav` });
    expect(job.data.call?.recording).toBeUndefined();
    expect(job.data.call?.transcript).toBe('Hi, my card ••••-••••-••••-0004 was blocked, call me back');
    expect(job.data.subject).toBe('Voicemail from +14155552671');
  });

  it('downloads a reachable PBX recording into the blob store', async () => {
    const id = callId();
    const url = files.serve(`/rec/${id}.mp3`, Buffer.from('mp3 bytes'), 'audio/mpeg');
    await postPbx(voice.base, inboxId, SECRET, record(id, { recordingUrl: url }));
    const [job] = await waitForCallLogs(voice.inbound, id, 1);
    expect(job.data.call?.recording).toMatchObject({ size: 9, contentType: 'audio/mpeg' });
    // PBX URLs are not Twilio's: no credentials were sent.
    expect(files.authorizations.at(-1)).toBeUndefined();
  });

  it('does not fetch a recording URL on an internal address; the call log lands saying it could not be fetched', async () => {
    const port = new URL(internal.url).port;
    const urls = [
      internal.serve('/admin/export.wav?X-Amz-Signature=s3cret', Buffer.from('internal'), 'audio/wav'),
      `http://localhost:${port}/admin/export.wav`,
      `http://[::ffff:127.0.0.1]:${port}/admin/export.wav`,
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    ];
    for (const url of urls) {
      const id = callId();
      const res = await postPbx(
        voice.base,
        inboxId,
        SECRET,
        record(id, { disposition: 'voicemail', recordingUrl: url }),
      );
      expect(res.status).toBe(200);
      // The call log is enqueued only after the download was tried and its refusal recorded on the call.
      const [job] = await waitForCallLogs(voice.inbound, id, 1);
      expect(job.data.call).toMatchObject({ disposition: 'voicemail', recordingUrl: url });
      expect(job.data.call?.recording).toBeUndefined();
      expect(job.data.metadata).toMatchObject({
        provider: 'pbx',
        recordingError: { code: 'blocked_address', reason: expect.stringMatching(/^blocked_address: /) },
      });
      expect(job.data.metadata.recordingError).not.toHaveProperty('url');
      expect(JSON.stringify(job.data.metadata)).not.toContain('s3cret');
      expect(job.data.text).toContain(`Recording: ${url} (could not be fetched: its address is internal or reserved)`);
      // Refused for good: no retry is scheduled.
      const [row] = await rows(id);
      expect(row.state.recordingError).toMatchObject({ url, code: 'blocked_address' });
      expect(row.next_work_at).toBeNull();
    }
    expect(internal.requests).toEqual([]);
    const metrics = await (await fetch(`${voice.base}/metrics`)).text();
    expect(metrics).toMatch(/oq_voice_recording_failures_total\{code="blocked_address",[^}]*\} 4/);
  });

  it("fetches recordings only from the inbox's recording hosts when it lists some", async () => {
    const strict = api.add({
      settings: { recordingHosts: ['recordings.pbx.example', '*.pbx-cdn.example'] },
      secrets: { signingSecret: SECRET },
    });
    const listed = api.add({ settings: { recordingHosts: [files.host] }, secrets: { signingSecret: SECRET } });
    const refused = callId();
    const refusedUrl = files.serve(`/rec/${refused}.mp3`, Buffer.from('not for this inbox'), 'audio/mpeg');
    await postPbx(voice.base, strict.id, SECRET, record(refused, { recordingUrl: refusedUrl }));
    const [a] = await waitForCallLogs(voice.inbound, refused, 1);
    expect(a.data.call?.recording).toBeUndefined();
    expect(a.data.metadata).toMatchObject({ recordingError: { code: 'host_not_allowed' } });
    expect(a.data.text).toContain("could not be fetched: its host is not one of the inbox's recording hosts");
    expect(files.requests).not.toContain(`/rec/${refused}.mp3`);

    const fetched = callId();
    const url = files.serve(`/rec/${fetched}.mp3`, Buffer.from('mp3 bytes'), 'audio/mpeg');
    await postPbx(voice.base, listed.id, SECRET, record(fetched, { recordingUrl: url }));
    const [b] = await waitForCallLogs(voice.inbound, fetched, 1);
    expect(b.data.call?.recording).toMatchObject({ size: 9, contentType: 'audio/mpeg' });
    expect(b.data.metadata).not.toHaveProperty('recordingError');
  });

  it('refuses calls for an inbox whose stored recording hosts are malformed (404) and lists it on /health', async () => {
    // Before, such an inbox took calls and failed each recording download instead.
    const broken = api.add({
      settings: { recordingHosts: 'recordings.pbx.example' },
      secrets: { signingSecret: SECRET },
    });
    const id = callId();
    expect((await postPbx(voice.base, broken.id, SECRET, record(id))).status).toBe(404);
    const health = await fetch(`${voice.base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      inboxes: {
        invalid: [
          {
            id: broken.id,
            channel: 'voice',
            reason: 'settings.recordingHosts: Invalid input: expected array, received string',
          },
        ],
      },
    });
    expect(await rows(id)).toEqual([]);
    expect((await postPbx(voice.base, inboxId, SECRET, record(callId()))).status).toBe(200);
  });

  it('rejects replays older than 5 minutes and bad signatures with 401, storing nothing', async () => {
    const id = callId();
    const old = Math.floor(Date.now() / 1000) - 301;
    const replay = await postPbx(voice.base, inboxId, SECRET, record(id), { timestamp: old });
    expect(replay.status).toBe(401);
    expect((await replay.json()).message).toMatch(/timestamp outside the 300-second window/);
    // Relative to the moment of sending: a loaded machine may take seconds between the two requests.
    const future = await postPbx(voice.base, inboxId, SECRET, record(id), {
      timestamp: Math.floor(Date.now() / 1000) + 310,
    });
    expect(future.status).toBe(401);
    expect((await postPbx(voice.base, inboxId, 'wrong-secret-xxxxxxxxxxxxxxxxxxxxx', record(id))).status).toBe(401);
    expect((await postPbx(voice.base, inboxId, SECRET, record(id), { signature: 'sha256=00' })).status).toBe(401);
    // Just inside the window is fine, and it is the first of these records stored (the fold commits
    // before the 200): had a refused one been stored, this one would be a duplicate of it.
    const accepted = await postPbx(voice.base, inboxId, SECRET, record(id), { timestamp: old + 5 });
    expect(await accepted.json()).toEqual({ status: 'stored' });
    expect((await rows(id))[0].events).toHaveLength(1);
    const other = callId();
    expect((await postPbx(voice.base, inboxId, SECRET, record(other), { timestamp: old })).status).toBe(401);
    expect(await rows(other)).toEqual([]);
  });

  it('answers 404 for an unknown inbox and for an inbox without a PBX signing secret', async () => {
    expect((await postPbx(voice.base, '7d4f6c1e-0000-4000-8000-000000000000', SECRET, record(callId()))).status).toBe(
      404,
    );
    const twilioOnly = api.add({ secrets: { authToken: 'x'.repeat(32) } }).id;
    expect((await postPbx(voice.base, twilioOnly, SECRET, record(callId()))).status).toBe(404);
  });

  it('logs a call from a withheld number ("anonymous", "private", SIP anonymous, empty) without attributing it', async () => {
    for (const from of ['anonymous', 'private', 'sip:anonymous@anonymous.invalid', '']) {
      const id = callId();
      const res = await postPbx(
        voice.base,
        inboxId,
        SECRET,
        record(id, { from, disposition: 'missed', answeredAt: undefined }),
      );
      expect(res.status).toBe(200);
      const [job] = await waitForCallLogs(voice.inbound, id, 1);
      expect(job.data).toMatchObject({
        sender: { kind: 'anonymous', value: `${inboxId}:${id}` },
        call: { from: 'anonymous', disposition: 'missed' },
      });
    }
  });

  it("carries the dialer's ticket id / number of an outbound call into the call log", async () => {
    const id = callId();
    const ticketId = '5f0c8a52-8d0e-4b7e-9a43-0c7f1d2e3b4a';
    const outbound = { direction: 'outbound', from: 'alice', to: '(415) 555-2671', ticketId, ticketNumber: '1042' };
    expect((await postPbx(voice.base, inboxId, SECRET, record(id, outbound))).status).toBe(200);
    const [job] = await waitForCallLogs(voice.inbound, id, 1);
    expect(job.data.call).toMatchObject({
      direction: 'outbound',
      to: '+14155552671',
      ticket: { id: ticketId, number: 1042 },
    });
    expect(job.data.sender).toMatchObject({ kind: 'phone', value: '+14155552671' });
  });

  it('answers 400 naming the field of an impossible record', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ endedAt: '2026-11-25T09:59:00Z' }, 'endedAt'],
      [{ answeredAt: '2026-11-25T09:00:00Z' }, 'answeredAt'],
      [{ durationSec: -3 }, 'durationSec'],
      [{ from: 'call me maybe' }, 'from'],
      [{ direction: 'outbound', to: '12' }, 'to'],
      [{ disposition: 'exploded' }, 'disposition'],
      [{ startedAt: 'tuesday' }, 'startedAt'],
      [{ recordingUrl: 'ftp://pbx/rec.wav' }, 'recordingUrl'],
      [{ direction: 'outbound', from: '', to: '+14155552671' }, 'from'],
      [{ ticketId: '42' }, 'ticketId'],
      [{ ticketNumber: 'T-42' }, 'ticketNumber'],
      [{ ticketNumber: 0 }, 'ticketNumber'],
    ];
    for (const [over, field] of cases) {
      const id = callId();
      const res = await postPbx(voice.base, inboxId, SECRET, record(id, over));
      expect(res.status).toBe(400);
      const body = await res.json();
      expect({ field: body.field, message: body.message }).toEqual({
        field,
        message: expect.stringMatching(new RegExp(`^${field}: `)),
      });
      expect(await rows(id)).toEqual([]);
    }
    // A later record with an earlier start is consistent: the fold keeps the earliest start, one call.
    const id = callId();
    await postPbx(voice.base, inboxId, SECRET, record(id));
    const earlier = record(id, { startedAt: '2026-11-25T09:59:00Z' });
    expect((await postPbx(voice.base, inboxId, SECRET, earlier)).status).toBe(200);
    expect((await rows(id))[0].state.startedAt).toBe('2026-11-25T09:59:00.000Z');
  });

  it('normalises numbers with the inbox region and follows secret rotation announced on pub/sub', async () => {
    const inbox = api.add({ settings: { defaultRegion: 'GB' }, secrets: { signingSecret: SECRET } });
    const id = callId();
    await postPbx(voice.base, inbox.id, SECRET, record(id, { from: '020 7946 0018' }));
    const [job] = await waitForCallLogs(voice.inbound, id, 1);
    expect(job.data.sender.value).toBe('+442079460018');

    const rotated = 'rotated-pbx-secret-0123456789abcdef';
    api.inboxes.set(inbox.id, { ...inbox, secrets: { signingSecret: rotated } });
    const redis = new Redis(TEST_REDIS_URL);
    await redis.publish(INBOX_CHANGED_CHANNEL, inbox.id);
    redis.disconnect();
    await until(
      async () => (await postPbx(voice.base, inbox.id, rotated, record(callId()))).status === 200,
      3000,
      'the rotated secret accepted',
    );
    expect((await postPbx(voice.base, inbox.id, SECRET, record(callId()))).status).toBe(401);
  });
});
