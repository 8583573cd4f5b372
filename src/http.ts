export { createApiHandler } from './api/handler.js';
export { toNodeListener } from './api/node-listener.js';
export type { ApiHandlerOptions } from './api/handler.js';
export { API_SCOPES } from './api/access.js';
export type { ApiKey, ApiScope } from './api/access.js';
export { createConnectHandler } from './api/connect-handler.js';
export type { ConnectHandlerOptions } from './api/connect-handler.js';
export type { ConnectResult } from './api/connect-result.js';
