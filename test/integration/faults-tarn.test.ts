// Issue 17's fault scenarios (test/support/fault-scenarios.ts) on tarn: a tarn pool of pg.Clients tracked with
// trackTarnPool (resourceKind 'pg'), and Knex's own pool tracked with trackKnex, both through the fault proxy in
// front of one embedded PostgreSQL of this file's own (restarted fast and immediate while load runs); readiness asked
// during each fault.
import { after } from 'node:test';
import { startPostgresBackend } from '../support/fault-backends.js';
import { knexKit, tarnKit } from '../support/fault-kits.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { faultScenarioSuite, type FaultEnvironment } from '../support/fault-scenarios.js';

let started: Promise<FaultEnvironment> | undefined;
const environment = (): Promise<FaultEnvironment> =>
  (started ??= (async () => {
    const backend = await startPostgresBackend();
    const proxy = await FaultProxy.start({ targetPort: backend.port });
    return { backend, proxy };
  })());
after(async () => {
  const env = await started?.catch(() => undefined);
  await env?.proxy.close();
  await env?.backend.close();
});

faultScenarioSuite(tarnKit, environment);
faultScenarioSuite(knexKit, environment);
