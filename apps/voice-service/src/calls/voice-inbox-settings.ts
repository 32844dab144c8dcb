import { InboxConfig, VoiceInboxSettings } from '@oq/contracts';

/**
 * The inbox's recording hosts (settings.recordingHosts, libs/contracts inbox-settings): when set,
 * recordings are fetched only from these hosts, checked on every redirect too. The directory serves
 * only inboxes whose settings pass that schema, so parsing here throws only for one that bypassed it.
 */
export function recordingHosts(inbox: InboxConfig | null): string[] | undefined {
  return inbox ? VoiceInboxSettings.parse(inbox.settings).recordingHosts : undefined;
}
