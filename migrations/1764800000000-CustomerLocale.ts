import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The customer's language (issue 20): `customers.locale`, a BCP 47 language tag (`en`, `ru`,
 * `pt-BR`) that picks the auto-reply templates. Taken from Content-Language or Accept-Language of
 * the mail that creates the customer, or set by an operator; NULL: unknown (the default templates).
 *
 * Nullable without a default, so adding it rewrites no table; the CHECK only reads the rows (all
 * NULL at this point). The shape is a simplified BCP 47: a 2-3 letter lower-case language, then
 * subtags of 2-8 letters or digits; the application writes the canonical case (src/common/locale.ts).
 */
export class CustomerLocale1764800000000 implements MigrationInterface {
  name = 'CustomerLocale1764800000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE customers ADD COLUMN locale text`);
    await q.query(`ALTER TABLE customers ADD CONSTRAINT customers_locale_shape
      CHECK (locale IS NULL OR (length(locale) <= 35 AND locale ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'))`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE customers DROP COLUMN locale`);
  }
}
