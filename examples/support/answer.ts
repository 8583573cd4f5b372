import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A request listener from an async handler. Node ignores what a listener returns, so a handler
 * that throws would be an unhandled rejection and take the process down; here it becomes a 500
 * carrying the message (or a dropped socket once headers are out), which the caller then sees.
 */
export function answer<Req extends IncomingMessage = IncomingMessage>(
  handler: (req: Req, res: ServerResponse) => Promise<unknown>,
): (req: Req, res: ServerResponse) => void {
  return (req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else res.writeHead(500, { 'content-type': 'text/plain' }).end(`server failed: ${String(error)}`);
    });
  };
}
