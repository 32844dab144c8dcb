import { InboxConfig } from '@oq/contracts';
import { HostAllowList } from '@oq/platform';
import { z } from 'zod';

/**
 * Settings of a voice inbox that voice-service validates (other keys, such as `defaultRegion`
 * which the webhook controllers read, are left alone):
 * - `recordingHosts`: when set, recordings are fetched only from these hosts (`host`, `host:port`,
 *   `*.domain`), checked on every redirect too — a URL elsewhere is refused even if it is public.
 */
export const VoiceInboxSettings = z.looseObject({
  recordingHosts: HostAllowList.optional(),
});
export type VoiceInboxSettings = z.infer<typeof VoiceInboxSettings>;

/** The inbox's recording hosts; throws (naming the problem, never a secret) when the setting is malformed. */
export function recordingHosts(inbox: InboxConfig | null): string[] | undefined {
  const parsed = VoiceInboxSettings.safeParse(inbox?.settings ?? {});
  if (!parsed.success)
    throw new Error(
      `inbox ${inbox?.id} settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data.recordingHosts;
}
