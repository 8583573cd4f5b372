/**
 * Another process using one MCP connection, run with `node --import tsx`: `clients` SDK clients,
 * each with its own `latchkeyOAuthProvider` over one manager on the shared store, call a tool in
 * a loop for `durationMs`, then one JSON line reports what happened.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ConnectionManager } from '../../../src/index.js';
import { latchkeyOAuthProvider } from '../../../src/mcp/index.js';
import { openStore } from '../../../src/store/from-url.js';
import { mcpGenericIntegration } from './mcp-manager.js';

interface Config {
  storeUrl: string;
  mcpUrl: string;
  clients: number;
  durationMs: number;
  refreshMarginSeconds: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const manager = new ConnectionManager({
  store: await openStore(config.storeUrl),
  integrations: { mcp: mcpGenericIntegration() },
  http: { allowInsecureLoopback: true },
  refreshMarginSeconds: config.refreshMarginSeconds,
  logger: { warn() {}, error() {} },
});
const deadline = Date.now() + config.durationMs;
let calls = 0;
const failures: string[] = [];
await Promise.all(
  Array.from({ length: config.clients }, async () => {
    const authProvider = latchkeyOAuthProvider({ manager, connectionId: 'shared', providerConfigKey: 'mcp' });
    const client = new Client({ name: 'latchkey-worker', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(config.mcpUrl), { authProvider }));
    while (Date.now() < deadline) {
      try {
        await client.callTool({ name: 'whoami', arguments: {} });
        calls++;
      } catch (error) {
        failures.push(String((error as Error).message).slice(0, 200));
      }
    }
    await client.close();
  }),
);
await manager.close();
process.stdout.write(`${JSON.stringify({ calls, failures })}\n`);
