import { InitialSchema1764057600000 } from './1764057600000-InitialSchema';
import { SlaRatingsCapacity1764100000000 } from './1764100000000-SlaRatingsCapacity';
import { HelpDeskTools1764200000000 } from './1764200000000-HelpDeskTools';
import { RequestSearchVector1764300000000 } from './1764300000000-RequestSearchVector';
import { ReportCoveringIndexes1764400000000 } from './1764400000000-ReportCoveringIndexes';
import { SenderFallback1764500000000 } from './1764500000000-SenderFallback';
import { Mailboxes1764600000000 } from './1764600000000-Mailboxes';
import { SmtpSources1764700000000 } from './1764700000000-SmtpSources';
import { ProviderReplay1764710000000 } from './1764710000000-ProviderReplay';
import { CustomerLocale1764800000000 } from './1764800000000-CustomerLocale';
import { SavedReplies1764810000000 } from './1764810000000-SavedReplies';
import { Conversations1764900000000 } from './1764900000000-Conversations';
import { ApiTokens1764910000000 } from './1764910000000-ApiTokens';
import { PriorityTags1764920000000 } from './1764920000000-PriorityTags';
import { Presence1764930000000 } from './1764930000000-Presence';
import { AutoAssignment1764940000000 } from './1764940000000-AutoAssignment';
import { LiveEvents1764950000000 } from './1764950000000-LiveEvents';
import { AuditLog1764960000000 } from './1764960000000-AuditLog';
import { BlobStorage1764970000000 } from './1764970000000-BlobStorage';
import { ReplicaReadPositions1764980000000 } from './1764980000000-ReplicaReadPositions';
import { CustomerErasure1764990000000 } from './1764990000000-CustomerErasure';
import { EventsNotifyAfterCommit1765000000000 } from './1765000000000-EventsNotifyAfterCommit';

/** Every migration, in order: one explicit list for the app, the typeorm CLI and the tests. */
export const MIGRATIONS = [
  InitialSchema1764057600000,
  SlaRatingsCapacity1764100000000,
  HelpDeskTools1764200000000,
  RequestSearchVector1764300000000,
  ReportCoveringIndexes1764400000000,
  SenderFallback1764500000000,
  Mailboxes1764600000000,
  SmtpSources1764700000000,
  ProviderReplay1764710000000,
  CustomerLocale1764800000000,
  SavedReplies1764810000000,
  Conversations1764900000000,
  ApiTokens1764910000000,
  PriorityTags1764920000000,
  Presence1764930000000,
  AutoAssignment1764940000000,
  LiveEvents1764950000000,
  AuditLog1764960000000,
  BlobStorage1764970000000,
  ReplicaReadPositions1764980000000,
  CustomerErasure1764990000000,
  EventsNotifyAfterCommit1765000000000,
];
