import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, dropQueuePrefix, testQueuePrefix, TestDatabase } from '@oq/database/testing/test-env';
import { Client } from 'pg';
import { twilioSignature } from './twilio-signature';
import {
  FakeInboxApi,
  FakeRecordingServer,
  PUBLIC_BASE_URL,
  VoiceStack,
  callLogJobs,
  postTwilio,
  sha256,
  startVoiceService,
  waitForCallLogs,
  waitForSettledCall,
} from '../testing/voice-test-kit';

const TOKEN = 'twilio-auth-token-0123456789abcdef';
const ACCOUNT = 'AC00000000000000000000000000000001';
const CALLER = '+14155552671';
const HOTLINE = '+18005550100';

describe('Twilio status callbacks → one call log per call', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  let api: FakeInboxApi;
  let twilio: FakeRecordingServer;
  let voice: VoiceStack;
  let pg: Client;
  let inboxId: string;
  let seq = 0;
  const sid = () => `CA${Date.now().toString(16)}${(seq++).toString().padStart(4, '0')}`;
  const at = (sec: number) => new Date(Date.UTC(2026, 10, 25, 10, 0, sec)).toUTCString();
  const call = (callSid: string, over: Record<string, string>) => ({
    AccountSid: ACCOUNT,
    ApiVersion: '2010-04-01',
    CallSid: callSid,
    From: CALLER,
    To: HOTLINE,
    Direction: 'inbound',
    ...over,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    api = await new FakeInboxApi().start();
    twilio = await new FakeRecordingServer().start();
    inboxId = api.add({ secrets: { accountSid: ACCOUNT, authToken: TOKEN } }).id;
    voice = await startVoiceService(db, prefix, {
      TICKET_SERVICE_URL: api.url,
      TWILIO_API_BASE_URL: twilio.url,
      FETCH_ALLOW_HOSTS: twilio.host,
    });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await voice?.close();
    await pg?.end();
    await api?.close();
    await twilio?.close();
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  const rows = async (callId: string) =>
    (await pg.query('SELECT * FROM voice_calls WHERE call_id = $1', [callId])).rows;

  it('folds out-of-order and repeated callbacks into one call log, revision 0', async () => {
    const callSid = sid();
    // Twilio retries and reorders: completed first, then ringing, in-progress, and completed again.
    const completed = call(callSid, { CallStatus: 'completed', CallDuration: '95', Timestamp: at(100) });
    for (const params of [
      completed,
      call(callSid, { CallStatus: 'ringing', Timestamp: at(0) }),
      call(callSid, { CallStatus: 'in-progress', Timestamp: at(5) }),
      completed,
    ]) {
      const res = await postTwilio(voice.base, inboxId, TOKEN, params);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/xml/);
    }
    await waitForCallLogs(voice.inbound, callSid, 1);
    // Once the call owes nothing (the revision it owes is emitted, no work scheduled), no sweep or
    // request will emit another revision of these callbacks: what is on the queue now is all of it.
    expect((await waitForSettledCall(pg, callSid)).target_revision).toBe(0);
    const jobs = await callLogJobs(voice.inbound, callSid);
    expect(jobs).toHaveLength(1);
    const msg = jobs[0].data;
    expect(msg).toMatchObject({
      inboxId,
      channel: 'voice',
      kind: 'call_log',
      externalId: callSid,
      revision: 0,
      sender: { kind: 'phone', value: CALLER },
      call: {
        callId: callSid,
        direction: 'inbound',
        from: CALLER,
        to: HOTLINE,
        disposition: 'answered',
        endedAt: '2026-11-25T10:01:40.000Z',
        durationSec: 95,
      },
    });
    expect(msg.subject).toBe(`Call from ${CALLER}`);
    const [row] = await rows(callSid);
    expect(row.events).toHaveLength(3); // the repeated completed callback was stored once
    // The late ringing / in-progress refine the stored call without a new revision.
    expect(row.state).toMatchObject({ startedAt: '2026-11-25T10:00:00.000Z', answeredAt: '2026-11-25T10:00:05.000Z' });
    expect(row.emitted_revision).toBe(0);
  });

  it('folds callbacks of one call arriving concurrently without losing any (version check, then row lock)', async () => {
    const callSid = sid();
    const events = [
      call(callSid, { CallStatus: 'queued', Timestamp: at(0) }),
      call(callSid, { CallStatus: 'ringing', Timestamp: at(1) }),
      call(callSid, { CallStatus: 'in-progress', Timestamp: at(4) }),
      call(callSid, { CallStatus: 'completed', CallDuration: '56', Timestamp: at(60) }),
      { AccountSid: ACCOUNT, CallSid: callSid, TranscriptionText: 'thanks, solved', TranscriptionStatus: 'completed' },
    ];
    const responses = await Promise.all([...events, ...events].map((p) => postTwilio(voice.base, inboxId, TOKEN, p)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const [row] = await rows(callSid);
    expect(row.events).toHaveLength(5);
    expect(row.state).toMatchObject({
      status: 'answered',
      startedAt: '2026-11-25T10:00:00.000Z',
      transcript: 'thanks, solved',
    });
    await waitForSettledCall(pg, callSid);
    const jobs = await callLogJobs(voice.inbound, callSid);
    // Whatever the interleaving, the newest revision carries everything.
    expect(jobs.at(-1)!.data.call).toMatchObject({
      disposition: 'answered',
      durationSec: 56,
      transcript: 'thanks, solved',
    });
  });

  it('logs a missed call (no-answer) and a caller who hung up in the queue as missed', async () => {
    const noAnswer = sid();
    await postTwilio(voice.base, inboxId, TOKEN, call(noAnswer, { CallStatus: 'no-answer', CallDuration: '0' }));
    const canceled = sid();
    await postTwilio(voice.base, inboxId, TOKEN, call(canceled, { CallStatus: 'canceled' }));
    const [a] = await waitForCallLogs(voice.inbound, noAnswer, 1);
    const [b] = await waitForCallLogs(voice.inbound, canceled, 1);
    expect(a.data.call).toMatchObject({ disposition: 'missed', durationSec: 0 });
    expect(a.data.subject).toBe(`Missed call from ${CALLER}`);
    expect(b.data.call?.disposition).toBe('missed');
  });

  it('treats a <Dial> nobody answered with a recording as voicemail', async () => {
    const callSid = sid();
    const url = twilio.serve(
      `/2010-04-01/Accounts/${ACCOUNT}/Recordings/RE${callSid}`,
      Buffer.from('vm'),
      'audio/x-wav',
      `${ACCOUNT}:${TOKEN}`,
    );
    await postTwilio(
      voice.base,
      inboxId,
      TOKEN,
      call(callSid, { CallStatus: 'completed', DialCallStatus: 'no-answer', CallDuration: '40', RecordingUrl: url }),
    );
    const [job] = await waitForCallLogs(voice.inbound, callSid, 1);
    expect(job.data.call?.disposition).toBe('voicemail');
    expect(job.data.call?.recording).toMatchObject({ contentType: 'audio/x-wav', filename: `call-${callSid}.wav` });
  });

  it('uses the callee as the customer of an outbound call', async () => {
    const callSid = sid();
    await postTwilio(voice.base, inboxId, TOKEN, {
      ...call(callSid, { CallStatus: 'completed', CallDuration: '30' }),
      Direction: 'outbound-api',
      From: HOTLINE,
      To: '(415) 555-0199',
    });
    const [job] = await waitForCallLogs(voice.inbound, callSid, 1);
    expect(job.data.sender).toEqual({ kind: 'phone', value: '+14155550199', linked: [] });
    expect(job.data.call).toMatchObject({ direction: 'outbound', to: '+14155550199', from: HOTLINE });
  });

  it('adds a late recording and transcript as revisions 1 and 2, downloading with the account credentials', async () => {
    const callSid = sid();
    await postTwilio(voice.base, inboxId, TOKEN, call(callSid, { CallStatus: 'completed', CallDuration: '60' }));
    const [first] = await waitForCallLogs(voice.inbound, callSid, 1);
    expect(first.data.attachments).toEqual([]);

    const audio = Buffer.from(`ID3 fake mp3 of ${callSid}`);
    const path = `/2010-04-01/Accounts/${ACCOUNT}/Recordings/RE${callSid}`;
    const url = twilio.serve(path, audio, 'audio/mpeg', `${ACCOUNT}:${TOKEN}`);
    const recording = {
      AccountSid: ACCOUNT,
      CallSid: callSid,
      RecordingSid: `RE${callSid}`,
      RecordingUrl: url,
      RecordingStatus: 'completed',
      RecordingDuration: '58',
    };
    expect((await postTwilio(voice.base, inboxId, TOKEN, recording)).status).toBe(200);
    const afterRecording = await waitForCallLogs(voice.inbound, callSid, 2);
    expect(afterRecording).toHaveLength(2);
    const rev1 = afterRecording[1].data;
    expect(rev1.revision).toBe(1);
    expect(rev1.call?.recording).toEqual({
      sha256: sha256(audio),
      size: audio.length,
      filename: `call-${callSid}.mp3`,
      contentType: 'audio/mpeg',
    });
    const h = sha256(audio);
    expect(existsSync(join(voice.blobDir, h.slice(0, 2), h.slice(2, 4), h))).toBe(true);

    // A repeated recording callback changes nothing: the transcript sent after it is revision 2, not 3,
    // and once the call owes nothing no further revision can come of either.
    expect((await postTwilio(voice.base, inboxId, TOKEN, recording)).status).toBe(200);
    await postTwilio(voice.base, inboxId, TOKEN, {
      AccountSid: ACCOUNT,
      CallSid: callSid,
      TranscriptionStatus: 'completed',
      TranscriptionText: 'my card 4111 1111 1111 1111 was charged twice',
    });
    expect((await waitForSettledCall(pg, callSid)).target_revision).toBe(2);
    const all = await callLogJobs(voice.inbound, callSid);
    expect(all.map((j) => j.data.revision)).toEqual([0, 1, 2]);
    expect(twilio.requests.filter((p) => p === path)).toHaveLength(1); // the recording was downloaded once
    expect(all[2].data.call?.transcript).toBe('my card •••• •••• •••• 1111 was charged twice');
    expect(all[2].data.text).not.toContain('4111 1111');
    const [row] = await rows(callSid);
    expect(JSON.stringify(row.events)).not.toContain('4111 1111');
  });

  it('retries a recording download that failed, sending the call log first and the recording as the next revision', async () => {
    const callSid = sid();
    const audio = Buffer.from(`flaky ${callSid}`);
    const url = twilio.serve(
      `/2010-04-01/Accounts/${ACCOUNT}/Recordings/RE${callSid}`,
      audio,
      'audio/mpeg',
      `${ACCOUNT}:${TOKEN}`,
      1,
    );
    await postTwilio(
      voice.base,
      inboxId,
      TOKEN,
      call(callSid, { CallStatus: 'completed', CallDuration: '20', RecordingUrl: url }),
    );
    const [first] = await waitForCallLogs(voice.inbound, callSid, 1);
    expect(first.data.call).toMatchObject({ recordingUrl: url });
    expect(first.data.call?.recording).toBeUndefined();
    expect(first.data.text).toContain(`Recording: ${url}`);
    const jobs = await waitForCallLogs(voice.inbound, callSid, 2, 10_000);
    expect(jobs[1].data.revision).toBe(1);
    expect(jobs[1].data.call?.recording?.sha256).toBe(sha256(audio));
  });

  it('emits from the sweep a final call whose enqueue never happened (crash between commit and enqueue)', async () => {
    const callSid = sid();
    await postTwilio(voice.base, inboxId, TOKEN, call(callSid, { CallStatus: 'failed' }));
    const [job] = await waitForCallLogs(voice.inbound, callSid, 1);
    // Simulate the crash: the job is gone and the row says nothing was enqueued.
    await job.remove();
    await pg.query(`UPDATE voice_calls SET emitted_revision = NULL, next_work_at = now() WHERE call_id = $1`, [
      callSid,
    ]);
    const [again] = await waitForCallLogs(voice.inbound, callSid, 1);
    expect(again.data).toMatchObject({ revision: 0, call: { disposition: 'failed' } });
    // The row is marked emitted right after the enqueue.
    expect(await waitForSettledCall(pg, callSid)).toMatchObject({ emitted_revision: 0, next_work_at: null });
  });

  it('answers 401 to a bad signature and stores nothing', async () => {
    const callSid = sid();
    const params = call(callSid, { CallStatus: 'completed', CallDuration: '10' });
    expect(await rows(callSid)).toEqual([]);
    const forged = await postTwilio(voice.base, inboxId, 'not-the-token-xxxxxxxxxxxxxxxxxxx', params);
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ message: 'invalid X-Twilio-Signature' });
    // Signed over the internal URL instead of the public one the provider used: also rejected.
    const { twilioSignature } = await import('./twilio-signature');
    const internal = twilioSignature(TOKEN, `${voice.base}/webhooks/twilio/${inboxId}`, params);
    expect((await postTwilio(voice.base, inboxId, TOKEN, params, { signature: internal })).status).toBe(401);
    expect((await postTwilio(voice.base, inboxId, TOKEN, params, { signature: '' })).status).toBe(401);
    // Refused before the fold: nothing stored. A genuine callback of the same call sent afterwards through
    // the same path is the first event of the call, and its call log the only one (a forged 10 s
    // call folded in first would make it revision 0 with 10 s, or this one a revision 1).
    expect(await rows(callSid)).toEqual([]);
    const genuine = call(callSid, { CallStatus: 'completed', CallDuration: '11' });
    expect((await postTwilio(voice.base, inboxId, TOKEN, genuine)).status).toBe(200);
    expect(await waitForSettledCall(pg, callSid)).toMatchObject({ target_revision: 0, events: [expect.anything()] });
    const jobs = await callLogJobs(voice.inbound, callSid);
    expect(jobs.map((j) => [j.data.revision, j.data.call?.durationSec])).toEqual([[0, 11]]);
  });

  it('answers 404 for an unknown inbox', async () => {
    const res = await postTwilio(
      voice.base,
      '7d4f6c1e-0000-4000-8000-000000000000',
      TOKEN,
      call(sid(), { CallStatus: 'ringing' }),
    );
    expect(res.status).toBe(404);
    expect((await postTwilio(voice.base, 'not-a-uuid', TOKEN, call(sid(), {}))).status).toBe(404);
  });

  it('logs calls from withheld numbers under a per-call anonymous identity, never under a number', async () => {
    // What Twilio puts in From for a hidden caller id: words, keypad spellings, nothing at all.
    const withheld = ['anonymous', 'Anonymous', '+266696687', 'restricted', 'unknown', ''];
    const senders = new Set<string>();
    for (const from of withheld) {
      const callSid = sid();
      const res = await postTwilio(voice.base, inboxId, TOKEN, call(callSid, { From: from, CallStatus: 'no-answer' }));
      expect(res.status).toBe(200);
      const [job] = await waitForCallLogs(voice.inbound, callSid, 1);
      expect(job.data).toMatchObject({
        sender: { kind: 'anonymous', value: `${inboxId}:${callSid}`, displayName: 'Withheld number' },
        subject: 'Missed call from a withheld number',
        call: { direction: 'inbound', from: 'anonymous', disposition: 'missed' },
      });
      expect(job.data.text).toMatch(/nobody to call back/);
      senders.add(job.data.sender.value);
    }
    expect(senders.size).toBe(withheld.length);
  });

  it('carries the ticket an outbound call was placed from (signed callback URL parameter) into the call log', async () => {
    const callSid = sid();
    const ticketId = '0b7e2f0c-3c1d-4c55-9f7a-2d9d6f1e8a10';
    const outbound = call(callSid, { Direction: 'outbound-api', From: HOTLINE, To: CALLER });
    const query = { ticketId, ticketNumber: '42' };
    await postTwilio(voice.base, inboxId, TOKEN, { ...outbound, CallStatus: 'ringing' }, { query });
    const res = await postTwilio(
      voice.base,
      inboxId,
      TOKEN,
      { ...outbound, CallStatus: 'completed', CallDuration: '30' },
      { query },
    );
    expect(res.status).toBe(200);
    const [job] = await waitForCallLogs(voice.inbound, callSid, 1);
    expect(job.data.call).toMatchObject({ direction: 'outbound', to: CALLER, ticket: { id: ticketId, number: 42 } });
    // The parameter is signed with the URL: the same callback with it stripped from the signed URL is refused.
    const tampered = await postTwilio(
      voice.base,
      inboxId,
      TOKEN,
      { ...outbound, CallStatus: 'completed' },
      {
        query,
        signature: twilioSignature(TOKEN, `${PUBLIC_BASE_URL}/webhooks/twilio/${inboxId}`, {
          ...outbound,
          CallStatus: 'completed',
        }),
      },
    );
    expect(tampered.status).toBe(401);
  });

  it('answers 400 naming the field of an impossible callback, storing nothing', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ CallStatus: 'completed', From: 'hello' }, 'From'],
      [{ CallStatus: 'completed', CallDuration: '-5' }, 'CallDuration'],
      [{ CallStatus: 'exploded' }, 'CallStatus'],
      [{ CallStatus: 'completed', Timestamp: 'yesterday-ish' }, 'Timestamp'],
      [{ CallStatus: 'completed', From: '12' }, 'From'],
      [{ CallStatus: 'completed', Direction: 'outbound-api', To: 'anonymous' }, 'To'],
      [{ CallStatus: 'completed', ticketId: 'ticket-7' }, 'ticketId'],
      [{ CallStatus: 'completed', ticketNumber: '0' }, 'ticketNumber'],
    ];
    for (const [{ ticketId, ticketNumber, ...over }, field] of cases) {
      const callSid = sid();
      const query: Record<string, string> | undefined = ticketId
        ? { ticketId }
        : ticketNumber
          ? { ticketNumber }
          : undefined;
      const res = await postTwilio(voice.base, inboxId, TOKEN, call(callSid, over), { query });
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.field).toBe(field);
      expect(body.message).toMatch(new RegExp(`^${field}: `));
      expect(await rows(callSid)).toEqual([]);
    }
  });
});
