import { createBatchFileAdapter } from './batch-file/adapter.js';
import { createJsonRpcAdapter } from './jsonrpc/adapter.js';
import type { IssuerAdapter, IssuerProtocol } from './port.js';
import { createRestAdapter } from './rest/adapter.js';
import { createSoapAdapter } from './soap/adapter.js';

/** What a route tells its adapter: where the issuer is and, for REST, how to sign. */
export interface AdapterSettings {
  endpoint: string;
  appId?: string;
  appSecret?: string;
  stateCacheMs?: number;
}

/** The one place that knows every protocol: adding an issuer protocol is a folder and a line here. */
export function createIssuerAdapter(protocol: IssuerProtocol, s: AdapterSettings): IssuerAdapter {
  switch (protocol) {
    case 'soap':
      return createSoapAdapter({ endpoint: s.endpoint });
    case 'jsonrpc':
      return createJsonRpcAdapter({ endpoint: s.endpoint });
    case 'rest':
      if (!s.appId || !s.appSecret) throw new Error('a REST issuer route needs app_id and app_secret');
      return createRestAdapter({ endpoint: s.endpoint, appId: s.appId, appSecret: s.appSecret });
    case 'batch_file':
      return createBatchFileAdapter({
        endpoint: s.endpoint,
        ...(s.stateCacheMs !== undefined ? { stateCacheMs: s.stateCacheMs } : {}),
      });
  }
}
