import fc from 'fast-check';
import { CallEvent, contentHash, foldCallEvents, inconsistency } from './call-event';

const ev = (over: Partial<CallEvent>): CallEvent => ({
  provider: 'twilio',
  callId: 'CA1',
  at: '2026-11-25T10:00:00.000Z',
  ...over,
});

// One call's life as Twilio reports it: ringing, answered, completed, then a recording and a transcript.
const LIFE: CallEvent[] = [
  ev({
    status: 'queued',
    direction: 'inbound',
    from: '+14155552671',
    to: '+18005550100',
    startedAt: '2026-11-25T10:00:00.000Z',
  }),
  ev({
    status: 'ringing',
    direction: 'inbound',
    from: '+14155552671',
    to: '+18005550100',
    at: '2026-11-25T10:00:01.000Z',
    startedAt: '2026-11-25T10:00:01.000Z',
  }),
  ev({
    status: 'in-progress',
    direction: 'inbound',
    from: '+14155552671',
    to: '+18005550100',
    at: '2026-11-25T10:00:09.000Z',
    answeredAt: '2026-11-25T10:00:09.000Z',
    startedAt: '2026-11-25T10:00:09.000Z',
  }),
  ev({ at: '2026-11-25T10:00:20.000Z', agent: 'client:alice' }),
  ev({
    status: 'answered',
    direction: 'inbound',
    from: '+14155552671',
    to: '+18005550100',
    at: '2026-11-25T10:03:09.000Z',
    endedAt: '2026-11-25T10:03:09.000Z',
    startedAt: '2026-11-25T10:00:09.000Z',
    durationSec: 180,
  }),
  ev({ at: '2026-11-25T10:03:15.000Z', recordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1' }),
  ev({ at: '2026-11-25T10:04:00.000Z', transcript: 'my card •••• 1111 was charged twice' }),
];

describe('folding the events of one call', () => {
  it('gives the same call whatever the order and repetition of its events', () => {
    const expected = foldCallEvents(LIFE);
    expect(expected).toMatchObject({
      status: 'answered',
      direction: 'inbound',
      from: '+14155552671',
      startedAt: '2026-11-25T10:00:00.000Z',
      answeredAt: '2026-11-25T10:00:09.000Z',
      endedAt: '2026-11-25T10:03:09.000Z',
      durationSec: 180,
      agent: 'client:alice',
      recordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1',
    });
    fc.assert(
      fc.property(
        fc.shuffledSubarray(LIFE, { minLength: LIFE.length, maxLength: LIFE.length }),
        fc.array(fc.integer({ min: 0, max: LIFE.length - 1 }), { maxLength: 5 }),
        (shuffled, repeats) => {
          const events = [...shuffled, ...repeats.map((i) => LIFE[i])];
          expect(foldCallEvents(events)).toEqual(expected);
        },
      ),
    );
  });

  it('lets a final status win over a later non-final one, and keeps the longest duration', () => {
    const state = foldCallEvents([
      ev({ status: 'missed', direction: 'inbound', from: '+14155552671', to: '+1800', at: '2026-11-25T10:00:30.000Z' }),
      ev({
        status: 'ringing',
        direction: 'inbound',
        from: '+14155552671',
        to: '+1800',
        at: '2026-11-25T10:00:40.000Z',
      }),
    ]);
    expect(state.status).toBe('missed');
    expect(state.endedAt).toBe('2026-11-25T10:00:30.000Z');
    expect(state.startedAt).toBe('2026-11-25T10:00:30.000Z');
    expect(
      foldCallEvents([ev({ durationSec: 30 }), ev({ durationSec: 12, at: '2026-11-25T10:09:00.000Z' })]).durationSec,
    ).toBe(30);
  });

  it('changes the content hash for a late transcript but not for a repeated or late non-final event', () => {
    const base = LIFE.slice(0, 5);
    const h = contentHash(foldCallEvents(base));
    expect(contentHash(foldCallEvents([...base, base[4]]))).toBe(h);
    expect(contentHash(foldCallEvents([...base, ev({ status: 'ringing', at: '2026-11-25T09:59:59.000Z' })]))).toBe(h);
    expect(contentHash(foldCallEvents([...base, LIFE[6]]))).not.toBe(h);
  });

  it('names the field when events contradict each other', () => {
    const state = foldCallEvents([
      ev({ status: 'ringing', startedAt: '2026-11-25T10:05:00.000Z', at: '2026-11-25T10:05:00.000Z' }),
      ev({ status: 'answered', endedAt: '2026-11-25T09:00:00.000Z', startedAt: '2026-11-25T10:05:00.000Z' }),
    ]);
    expect(inconsistency(state)).toMatchObject({ field: 'endedAt' });
  });
});
