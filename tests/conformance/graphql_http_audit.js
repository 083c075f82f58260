// Runs the graphql-http server audit (`auditServer`) against a live GraphQL endpoint and prints the results as JSON.
// Usage: node graphql_http_audit.js <node_modules dir> <url>
const path = require("path");
const { auditServer } = require(path.join(process.argv[2], "graphql-http"));

auditServer({ url: process.argv[3] }).then(
  (results) => {
    const out = results.map((r) => ({ id: r.id, name: r.name, status: r.status, reason: r.reason || null }));
    process.stdout.write(JSON.stringify(out));
  },
  (err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err));
    process.exit(2);
  },
);
