/**
 * `{{name}}` placeholders, as the auto-reply templates (outbound-mail/templates.service.ts) and the
 * saved replies (saved-replies/reply-variables.ts) write them: a name of letters, dots allowed
 * inside (`{{customer.name}}`), spaces allowed around it. One home for finding and filling them.
 */
export const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z.]*[A-Za-z]|[A-Za-z])\s*\}\}/g;

/** The placeholder names used in `body`, in order of appearance (repeats included). */
export function placeholdersIn(body: string): string[] {
  return [...body.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/**
 * `body` with each placeholder replaced by `value(name)`; a placeholder whose value is undefined is
 * left as written.
 */
export function fillPlaceholders(body: string, value: (name: string) => string | undefined): string {
  return body.replace(PLACEHOLDER, (whole, name: string) => value(name) ?? whole);
}

/** `value` safe as HTML text or a quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
