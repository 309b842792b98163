// The few declarations of the `ws` package (a dependency of @kubernetes/client-node, without bundled
// types) that the API server double uses.
declare module 'ws' {
  import type { IncomingMessage } from 'node:http';
  import type { Duplex } from 'node:stream';
  import { EventEmitter } from 'node:events';

  /** One WebSocket connection. */
  export class WebSocket extends EventEmitter {
    readonly protocol: string;
    readonly readyState: number;
    send(data: Buffer | string, cb?: (err?: Error) => void): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
  }

  /** Options of {@link WebSocketServer}. */
  export interface ServerOptions {
    noServer?: boolean;
    handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
  }

  /** A WebSocket server (here always with `noServer`). */
  export class WebSocketServer extends EventEmitter {
    constructor(options: ServerOptions);
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket, request: IncomingMessage) => void): void;
    close(): void;
  }
}
