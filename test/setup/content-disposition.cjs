// Jest (on Node 20) cannot `require` an ES module, and @fastify/static (CommonJS, loaded by
// Swagger UI's setup on Fastify) requires content-disposition 3, which is ESM only. Under Jest that
// name is mapped here (jest.config.js): the CommonJS content-disposition 1, whose default export
// is version 3's `create` (same arguments, same header). Node itself loads version 3 as it is.
const contentDisposition = require('content-disposition/index.js');

module.exports = { create: contentDisposition, parse: contentDisposition.parse };
