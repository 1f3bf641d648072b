/**
 * An HTTP server inside a container: node:http's parser over the streams the pod network hands
 * over (`server.emit('connection', stream)`), so the same image serves real sockets on threads
 * and in-memory streams in tests and simulation.
 */
import http from 'node:http';
import type { ContainerProcess } from '../image.js';

export type Handler = (request: http.IncomingMessage, response: http.ServerResponse, remote: { readonly host: string; readonly port: number }) => void | Promise<void>;

/** Serves until the process is stopped; resolves once the listener is closed. */
export async function serveHttp(process: ContainerProcess, port: number, handler: Handler): Promise<void> {
  const remotes = new WeakMap<object, { host: string; port: number }>();
  const server = http.createServer((request, response) => {
    const remote = remotes.get(request.socket) ?? { host: '0.0.0.0', port: 0 };
    Promise.resolve(handler(request, response, remote)).catch((error: unknown) => {
      process.stderr(`http handler: ${error instanceof Error ? error.message : String(error)}\n`);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  const listener = await process.net.listen(port, (stream, remote) => {
    remotes.set(stream, { ...remote });
    server.emit('connection', stream);
  });
  await new Promise<void>((resolve) => {
    if (process.signal.aborted) resolve();
    else process.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  // Open keep-alive connections end with the process (they would hold a graceful close for seconds).
  server.close();
  server.closeAllConnections();
  await listener.close();
}

export function sendText(response: http.ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

/** Waits for the process's stop signal. */
export function untilStopped(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
