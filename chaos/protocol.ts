/** What the harness gives an app process (in `CHAOS_APP`) and what they say to each other over IPC. */
export interface AppConfig {
  slot: number;
  seed: number;
  storeUrl: string;
  providerUrl: string;
  clientId: string;
  clientSecret: string;
  integration: string;
  encryptionKeys: string[];
  webhookUrl: string;
  webhookSecret: string;
  apiKey: string;
  connections: number;
  hot: number;
  workers: number;
  pauseMs: number;
  leaseMs: number;
  tokenTimeoutMs: number;
  nearCache: boolean;
}

export type HarnessMessage = { type: 'clock'; offsetMs: number } | { type: 'stop' };

export type AppMessage =
  | { type: 'ready'; pid: number }
  | { type: 'stopped' }
  | { type: 'refreshed' }
  /** Evidence for a double spend: what this process did about one connection's refresh token. */
  | { type: 'trace'; connectionId: string; what: string }
  | { type: 'log'; level: 'error' | 'warn'; message: string }
  | { type: 'stats'; ops: Record<string, number>; latencies: Array<[number, number]>; rss: number }
  | {
      type: 'change';
      phase: 'attempt' | 'stored' | 'absent';
      kind: 'upsert' | 'delete';
      connectionId: string;
      changeId: string;
    };
