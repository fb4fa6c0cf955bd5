/**
 * Amazon SNS messages as an HTTP(S) subscription receives them: a JSON document (sent as
 * `text/plain`) whose `Type` is `SubscriptionConfirmation`, `Notification` or
 * `UnsubscribeConfirmation`, signed by SNS over a canonical string of some of its fields
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html).
 */

/** The three kinds of message SNS posts to an HTTP(S) endpoint. */
export const SNS_TYPES = ['SubscriptionConfirmation', 'Notification', 'UnsubscribeConfirmation'] as const;
export type SnsType = (typeof SNS_TYPES)[number];

/** The signature versions SNS uses: 1 is SHA1withRSA, 2 is SHA256withRSA. */
export const SNS_SIGNATURE_VERSIONS = ['1', '2'] as const;

/** One SNS message, its fields checked for type and size (not yet its signature). */
export interface SnsMessage {
  Type: SnsType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  /** Notification only, when the publisher gave one. */
  Subject?: string;
  /** SubscriptionConfirmation and UnsubscribeConfirmation. */
  SubscribeURL?: string;
  Token?: string;
}

/** The fields each type signs, in the order of the canonical string. */
const SIGNED_FIELDS: Record<SnsType, ReadonlyArray<keyof SnsMessage>> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** Longest value of a field other than Message (SNS's own are far shorter). */
const MAX_FIELD = 4096;
/** Longest Message: SNS publishes at most 256 KiB. */
export const MAX_SNS_MESSAGE_BYTES = 256 * 1024;

/** The parsed message, or why the body is not an SNS message (a 400). */
export type SnsParse = { ok: true; message: SnsMessage } | { ok: false; problem: string };

/**
 * Reads an SNS HTTP body: JSON with the fields its Type needs, each a string of bounded size.
 * Extra fields (UnsubscribeURL, MessageAttributes) are allowed and ignored.
 */
export function parseSnsMessage(body: Buffer | string): SnsParse {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return { ok: false, problem: 'the body is not JSON (an Amazon SNS message was expected)' };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, problem: 'the body is not a JSON object (an Amazon SNS message was expected)' };
  }
  const o = doc as Record<string, unknown>;
  if (!SNS_TYPES.includes(o.Type as SnsType)) {
    return { ok: false, problem: `Type must be one of ${SNS_TYPES.join(', ')}` };
  }
  const type = o.Type as SnsType;
  const required: Array<keyof SnsMessage> = [
    'MessageId',
    'TopicArn',
    'Message',
    'Timestamp',
    'SignatureVersion',
    'Signature',
    'SigningCertURL',
  ];
  if (type !== 'Notification') required.push('SubscribeURL', 'Token');
  for (const field of required) {
    if (typeof o[field] !== 'string' || !o[field].length) {
      return { ok: false, problem: `${field} must be a non-empty string` };
    }
  }
  for (const field of ['Subject', 'SubscribeURL', 'Token'] as const) {
    if (o[field] !== undefined && o[field] !== null && typeof o[field] !== 'string') {
      return { ok: false, problem: `${field} must be a string` };
    }
  }
  for (const [field, value] of Object.entries(o)) {
    if (field !== 'Message' && typeof value === 'string' && value.length > MAX_FIELD) {
      return { ok: false, problem: `${field} is longer than ${MAX_FIELD} characters` };
    }
  }
  if (Buffer.byteLength(o.Message as string, 'utf8') > MAX_SNS_MESSAGE_BYTES) {
    return { ok: false, problem: `Message is larger than ${MAX_SNS_MESSAGE_BYTES} bytes` };
  }
  const message: SnsMessage = {
    Type: type,
    MessageId: o.MessageId as string,
    TopicArn: o.TopicArn as string,
    Message: o.Message as string,
    Timestamp: o.Timestamp as string,
    SignatureVersion: o.SignatureVersion as string,
    Signature: o.Signature as string,
    SigningCertURL: o.SigningCertURL as string,
  };
  if (typeof o.Subject === 'string') message.Subject = o.Subject;
  if (typeof o.SubscribeURL === 'string') message.SubscribeURL = o.SubscribeURL;
  if (typeof o.Token === 'string') message.Token = o.Token;
  return { ok: true, message };
}

/**
 * The string SNS signs: for each field its Type signs, in order, the field's name, a newline, its
 * value and a newline; a Notification's Subject only when it has one.
 */
export function snsCanonicalString(m: SnsMessage): string {
  let out = '';
  for (const field of SIGNED_FIELDS[m.Type]) {
    const value = m[field];
    if (value === undefined) continue;
    out += `${field}\n${value}\n`;
  }
  return out;
}
