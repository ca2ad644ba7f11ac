/**
 * The HTTP side of etoken-ca-scep, bounded against hostile clients: at most
 * SCEP_MAX_CONNECTIONS open connections (Node closes any beyond), headers
 * and the whole request within SCEP_READ_TIMEOUT seconds (slow clients are
 * cut off), silent connections closed after the same time, an idle keep-alive of a few seconds, bodies of at most one
 * pkiMessage, and at most SCEP_MAX_IN_FLIGHT requests being answered (more
 * get 503 at once). Only GET and POST on the SCEP path; everything else is
 * an HTTP error. A failure while answering one request never stops the
 * server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { sweepIdleConnections } from './idle-sweeper.js';
import type { HttpAnswer } from '@etoken-ca/scep-server/core/index';

export interface HttpLimits {
  readonly maxConnections: number;
  readonly maxInFlight: number;
  readonly readTimeoutMs: number;
  readonly maxBodyBytes: number;
}

/** A request as the SCEP operations see it: the query and, for POST, the whole body. */
export interface ScepHttpRequest {
  readonly method: 'GET' | 'POST';
  readonly query: URLSearchParams;
  readonly body: Buffer;
}

export type Answerer = (request: ScepHttpRequest) => Promise<HttpAnswer>;

const KEEP_ALIVE_MS = 5_000;
const CHECK_INTERVAL_MS = 1_000;
/** GET carries the message base64- and URL-encoded: about 1.4 times its size. */
const URL_BYTES_PER_BODY_BYTE = 1.5;

export function plainAnswer(status: number, text: string): HttpAnswer {
  return { status, contentType: 'text/plain', body: Buffer.from(`${text}\n`) };
}

export function startHttpServer(limits: HttpLimits, answer: Answerer, onError: (message: string) => void): Server {
  let inFlight = 0;
  const server = createServer(
    {
      requestTimeout: limits.readTimeoutMs,
      headersTimeout: Math.min(limits.readTimeoutMs, 60_000),
      // Shorter than the read timeout, so that Node closes an idle kept-alive connection gracefully before the sweep would.
      keepAliveTimeout: Math.min(KEEP_ALIVE_MS, limits.readTimeoutMs / 2),
      // Node enforces the two timeouts above only at this interval (30 s by default): a slow client would keep its socket that long.
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
      maxHeaderSize: Math.ceil(limits.maxBodyBytes * URL_BYTES_PER_BODY_BYTE) + 8192,
    },
    (request, response) => {
      if (inFlight >= limits.maxInFlight) return send(response, plainAnswer(503, 'busy: too many requests in progress'), true);
      inFlight++;
      clock.requestStarted(request.socket);
      handle(request, limits, answer)
        .then(
          (result) => send(response, result, false),
          (error: unknown) => {
            onError(`internal error: ${error instanceof Error ? error.message : String(error)}`);
            send(response, plainAnswer(500, 'internal error'), true);
          },
        )
        .finally(() => {
          inFlight--;
          clock.answered(request.socket);
        });
    },
  );
  // A connection that gets no request in within the read timeout is closed, whatever Node's timeouts do.
  const clock = sweepIdleConnections(server, limits.readTimeoutMs);
  server.maxConnections = limits.maxConnections;
  server.maxRequestsPerSocket = 100;
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

async function handle(request: IncomingMessage, limits: HttpLimits, answer: Answerer): Promise<HttpAnswer> {
  const method = request.method;
  if (method !== 'GET' && method !== 'POST') {
    request.resume();
    return plainAnswer(405, 'only GET and POST');
  }
  const url = new URL(request.url ?? '/', 'http://scep.invalid');
  const body = method === 'POST' ? await readBody(request, limits) : Buffer.alloc(0);
  if (body === 'too large') return plainAnswer(413, `request body larger than ${limits.maxBodyBytes} bytes`);
  if (body === 'too slow') return plainAnswer(408, 'request body not received in time');
  if (method === 'GET') request.resume();
  return answer({ method, query: url.searchParams, body });
}

/** The body; or why there is none: larger than the limit, or not all there within the read timeout (the connection is closed after the answer). */
function readBody(request: IncomingMessage, limits: HttpLimits): Promise<Buffer | 'too large' | 'too slow'> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limits.maxBodyBytes) return Promise.resolve('too large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'too large' | 'too slow'): void => {
      clearTimeout(deadline);
      request.removeAllListeners('data');
      if (typeof result === 'string') request.pause();
      resolve(result);
    };
    const deadline = setTimeout(() => finish('too slow'), limits.readTimeoutMs);
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) finish('too large');
      else chunks.push(chunk);
    });
    request.once('end', () => finish(Buffer.concat(chunks)));
    request.once('error', () => finish('too slow'));
  });
}

function send(response: ServerResponse, { status, contentType, body }: HttpAnswer, close: boolean): void {
  if (response.headersSent || response.destroyed) return;
  const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': body.length };
  if (close || status === 413 || status === 408) headers.connection = 'close';
  if (status === 503) headers['retry-after'] = 10;
  response.writeHead(status, headers).end(body);
}
