// Issue 17's fault scenarios (test/support/fault-scenarios.ts) on a mysql2 pool tracked with trackMysql2Pool: a
// private MariaDB of this file's own (restarted fast = SIGTERM and immediate = SIGKILL while load runs) behind the
// fault proxy; where no MariaDB binaries exist, the shared server on 127.0.0.1:3306 through the proxy only (restart
// scenarios skip, saying so); where neither is there, every scenario skips with the reason.
import { after } from 'node:test';
import { startMysqlBackend } from '../support/fault-backends.js';
import { mysql2Kit } from '../support/fault-kits.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { faultScenarioSuite, type FaultEnvironment } from '../support/fault-scenarios.js';

let started: Promise<FaultEnvironment | string> | undefined;
const environment = (): Promise<FaultEnvironment | string> =>
  (started ??= (async () => {
    const start = await startMysqlBackend();
    if (start.backend === undefined) return start.skip;
    const proxy = await FaultProxy.start({ targetPort: start.backend.port });
    return { backend: start.backend, proxy };
  })());
after(async () => {
  const env = await started?.catch(() => undefined);
  if (env === undefined || typeof env === 'string') return;
  await env.proxy.close();
  await env.backend.close();
});

faultScenarioSuite(mysql2Kit, environment);
