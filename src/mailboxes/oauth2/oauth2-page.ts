/** HTML-escapes a text for element content and attribute values. */
function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** The small page the OAuth2 callback answers with; every value is escaped, no scripts or styles (the API's CSP). */
export function oauth2Page(title: string, text: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title></head>`,
    `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p><p>MailDesk</p></body></html>`,
    '',
  ].join('\n');
}
