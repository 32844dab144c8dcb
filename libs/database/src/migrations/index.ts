import { Init1764000000000 } from './1764000000000-Init';
import { TicketDomain1764000000100 } from './1764000000100-TicketDomain';
import { QueueKeysetIndexes1764000003000 } from './1764000003000-QueueKeysetIndexes';
import { EmailImapCursors1764000005000 } from './1764000005000-EmailImapCursors';
import { VoiceCallState1764000006000 } from './1764000006000-VoiceCallState';
import { Chat1764000007000 } from './1764000007000-Chat';
import { SlaEscalation1764000008000 } from './1764000008000-SlaEscalation';
import { AgentTokenVersion1764000009000 } from './1764000009000-AgentTokenVersion';
import { AnonymousCallerIdentity1764000009100 } from './1764000009100-AnonymousCallerIdentity';
import { DeliveryWatermarkIndex1764000009500 } from './1764000009500-DeliveryWatermarkIndex';
import { BlobGc1764000010000 } from './1764000010000-BlobGc';
import { HostileInput1764000011000 } from './1764000011000-HostileInput';
import { BlobUploader1764000012000 } from './1764000012000-BlobUploader';
import { SuppressedMail1764000013000 } from './1764000013000-SuppressedMail';
import { DemoInbox1764000014000 } from './1764000014000-DemoInbox';

/** Listed explicitly (not globbed) so the same list works from source, dist and jest. Keep in order. */
export const MIGRATIONS = [
  Init1764000000000,
  TicketDomain1764000000100,
  QueueKeysetIndexes1764000003000,
  EmailImapCursors1764000005000,
  VoiceCallState1764000006000,
  Chat1764000007000,
  SlaEscalation1764000008000,
  AgentTokenVersion1764000009000,
  AnonymousCallerIdentity1764000009100,
  DeliveryWatermarkIndex1764000009500,
  BlobGc1764000010000,
  HostileInput1764000011000,
  BlobUploader1764000012000,
  SuppressedMail1764000013000,
  DemoInbox1764000014000,
];
