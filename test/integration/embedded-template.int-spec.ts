import { servePGlite } from '../../src/database/embedded-postgres';

describe('the embedded database template', () => {
  it("starts an in-memory cluster (the tests' and the CLI's) from the build's template, not initdb", async () => {
    const served = await servePGlite('memory://', 4);
    try {
      expect(served.fromTemplate).toBe(true);
    } finally {
      await served.close();
    }
  });
});
