import { fillPlaceholders, placeholdersIn } from '../common/placeholders';
import { subjectOrNone } from '../common/subject';

/** The variables a saved reply may use, each `{{name}}` in its text. */
export const SAVED_REPLY_VARIABLES = [
  'customer.name',
  'customer.email',
  'request.id',
  'request.subject',
  'operator.name',
] as const;

/** One of SAVED_REPLY_VARIABLES. */
export type SavedReplyVariable = (typeof SAVED_REPLY_VARIABLES)[number];

/** The values of a reply's variables when an operator writes it to a request's customer. */
export interface ReplyContext {
  customerName: string | null;
  customerEmail: string;
  requestId: number;
  requestSubject: string;
  operatorName: string;
}

/** The placeholders of `text` that are not SAVED_REPLY_VARIABLES, each once (a reply with any is refused, 400). */
export function unknownVariables(text: string): string[] {
  const known = SAVED_REPLY_VARIABLES as readonly string[];
  return [...new Set(placeholdersIn(text).filter((name) => !known.includes(name)))];
}

/**
 * The reply's text with its variables filled in as plain text (whoever makes HTML of it escapes
 * it). A customer without a name is "there" (as in the auto-replies: "Hello there"); a placeholder
 * that is not a variable is left as written.
 */
export function renderReply(text: string, context: ReplyContext): string {
  const values: Record<SavedReplyVariable, string> = {
    'customer.name': context.customerName?.trim() || 'there',
    'customer.email': context.customerEmail,
    'request.id': String(context.requestId),
    'request.subject': subjectOrNone(context.requestSubject),
    'operator.name': context.operatorName,
  };
  return fillPlaceholders(text, (name) => (values as Record<string, string>)[name]);
}
