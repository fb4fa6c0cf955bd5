import { InitialSchema1764057600000 } from './1764057600000-InitialSchema';

/** Every migration, in order: one explicit list for the app, the typeorm CLI and the tests. */
export const MIGRATIONS = [InitialSchema1764057600000];
