/**
 * Placeholder and sample secrets, refused at start (loadConfig throws a ConfigError, `npm start`
 * exits 1 naming the variable). Anyone who reads the repository knows a value its sample files
 * ship, and can sign an admin token with a known JWT_SECRET. The rule, for JWT_SECRET,
 * INBOUND_TOKEN, INBOUND_HMAC_SECRET, METRICS_TOKEN and ADMIN_PASSWORD, on the value lower-cased
 * with everything but letters and digits removed ("Change_Me!" is "changeme"):
 *
 * 1. a value the repository's sample files shipped (SHIPPED_SAMPLE_VALUES), exactly;
 * 2. a placeholder word anywhere in it (PLACEHOLDER_WORDS: "changeme", "replaceme", "placeholder",
 *    "example", "yoursecret", ...), or template brackets (`<...>`, `{{...}}`, `${...}`); plain
 *    words such as "secret", "token" or "test" are allowed (a generated value never holds these
 *    words; a hand-made one like "test-jwt-secret-0123456789abcdef" is no sample value);
 * 3. low entropy: fewer than 8 distinct characters (5 for ADMIN_PASSWORD, at least 8 long), so
 *    "aaaa...", "abab..." and "1111..." are refused; a random hex or base64 value has 14 or more;
 * 4. for ADMIN_PASSWORD also a handful of the most common passwords ("password1", "admin123", ...).
 *
 * The sample files themselves carry no value (docker/maildesk.env and .env.sample leave the
 * secrets empty; test/integration/config.int-spec.ts checks that any value they, the README or
 * the compose file give is refused).
 */

/** Every secret value the repository's sample files ever shipped (docker/maildesk.env). */
export const SHIPPED_SAMPLE_VALUES = [
  'change-me-please',
  'change-me-to-a-long-random-token',
  'change-me-to-a-long-random-secret',
];

/** Words that mark a value as something to fill in (compared without case and separators). */
const PLACEHOLDER_WORDS = [
  'changeme',
  'changethis',
  'changeit',
  'replaceme',
  'replacethis',
  'placeholder',
  'example',
  'sample',
  'dummy',
  'yoursecret',
  'yourtoken',
  'yourpassword',
  'yourkey',
  'goeshere',
  'notsecret',
  'insecure',
];

/** Passwords that are no password. */
const COMMON_PASSWORDS = [
  'password',
  'password1',
  'password123',
  'passw0rd',
  'admin',
  'admin123',
  'administrator',
  'letmein',
  'qwerty',
  'qwertyuiop',
  'welcome',
  'secret',
  '12345678',
  '123456789',
  '1234567890',
];

const normalize = (v: string) => v.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * Why `value` of `name` is a placeholder, sample or guessable value, or undefined when it is
 * none. The reason never quotes the value.
 */
export function placeholderReason(name: string, value: string): string | undefined {
  const norm = normalize(value);
  const password = name === 'ADMIN_PASSWORD';
  if (SHIPPED_SAMPLE_VALUES.some((s) => normalize(s) === norm)) return 'a sample value shipped in the repository';
  const word = PLACEHOLDER_WORDS.find((w) => norm.includes(w));
  if (word) return `a placeholder (it contains "${word}")`;
  if (/<[^>]*>|\{\{|\$\{/.test(value)) return 'a placeholder (template brackets)';
  if (password && COMMON_PASSWORDS.includes(norm)) return 'a guessable common password';
  if (new Set(value).size < (password ? 5 : 8)) return 'guessable (too few distinct characters)';
  return undefined;
}

/** The ConfigError message for a refused value, or undefined when `value` is acceptable (or unset). */
export function placeholderMessage(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const reason = placeholderReason(name, value);
  if (!reason) return undefined;
  const how =
    name === 'ADMIN_PASSWORD'
      ? 'set a strong password, or leave it empty to have one generated and printed once'
      : name === 'JWT_SECRET' || name === 'INBOUND_TOKEN'
        ? 'set a random value, e.g. `openssl rand -hex 32`, or leave it empty to have one generated into DATA_DIR/secrets.json'
        : 'set a random value, e.g. `openssl rand -hex 32`';
  return `${name} looks like a placeholder or sample value (${reason}): ${how}`;
}
