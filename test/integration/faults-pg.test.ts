// Issue 17's fault scenarios (test/support/fault-scenarios.ts) on a pg.Pool tracked with trackPgPool, with the
// readiness probe and GET /readyz asked during each fault: an embedded PostgreSQL of this file's own (restarted
// fast and immediate while load runs) behind the fault proxy (test/support/fault-proxy.ts).
import { after } from 'node:test';
import { startPostgresBackend, type FaultBackend } from '../support/fault-backends.js';
import { pgKit } from '../support/fault-kits.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { faultScenarioSuite, type FaultEnvironment } from '../support/fault-scenarios.js';

let started: Promise<FaultEnvironment> | undefined;
const environment = (): Promise<FaultEnvironment> =>
  (started ??= (async () => {
    const backend: FaultBackend = await startPostgresBackend();
    const proxy = await FaultProxy.start({ targetPort: backend.port });
    return { backend, proxy };
  })());
after(async () => {
  const env = await started?.catch(() => undefined);
  await env?.proxy.close();
  await env?.backend.close();
});

faultScenarioSuite(pgKit, environment);
