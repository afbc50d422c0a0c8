// The browser host: the built renderer and the same API as Electron, over a WebSocket on 127.0.0.1.
// Only a page that was handed this launch's token can drive the engine, and the Host/Origin checks
// stop other sites (including DNS-rebinding ones) from reaching it through the user's browser.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { StrataApi, StrataEvents } from '../../preload/api.ts';
import { SOCKET_PATH, TOKEN_HEADER, TOKEN_PARAM, UPLOAD_PATH, decodeFrame, encodeFrame, type ClientFrame, type ServerFrame } from '../../preload/wire.ts';
import { DEFAULT_MAX_DOCUMENT_BYTES } from '../engine/documents/extractText.ts';
import { dispatch } from './dispatch.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL('../../out/renderer', import.meta.url));

export interface BrowserHostOptions {
  api: StrataApi;
  port?: number;
  rendererDir?: string;
  /** Largest WebSocket frame accepted (documents go through UPLOAD_PATH instead). */
  maxFrameBytes?: number;
  /** Largest document upload accepted; larger bodies are cut off with TOO_LARGE. */
  maxUploadBytes?: number;
}

export class BrowserHost {
  readonly token = randomBytes(24).toString('hex');
  private readonly options: BrowserHostOptions;
  private readonly server: Server;
  private readonly sockets: WebSocketServer;
  private readonly clients = new Set<WebSocket>();
  private port = 0;

  constructor(options: BrowserHostOptions) {
    this.options = options;
    this.server = createServer((req, res) => {
      const work = req.method === 'POST' && new URL(req.url ?? '/', 'http://placeholder').pathname === UPLOAD_PATH ? this.upload(req, res) : this.serveFile(req, res);
      work.catch(() => send(res, 500, 'Internal error'));
    });
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes ?? 64 * 1024 * 1024 });
    this.server.on('upgrade', (req, socket, head) => {
      if (!this.allowSocket(req)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      this.sockets.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  async listen(): Promise<string> {
    const rendererIndex = join(this.rendererDir, 'index.html');
    if (!(await stat(rendererIndex).catch(() => null))) {
      throw new Error(`The renderer is not built (${rendererIndex} is missing). Run \`npm run build\` first.`);
    }
    await new Promise<void>((resolvePromise, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', () => resolvePromise());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/?${TOKEN_PARAM}=${this.token}`;
  }

  /** Pushes an engine event to every connected page. */
  broadcast<E extends keyof StrataEvents>(name: E, payload: StrataEvents[E]): void {
    const text = encodeFrame({ type: 'event', name, payload } as ServerFrame);
    for (const client of this.clients) if (client.readyState === client.OPEN) client.send(text);
  }

  private get rendererDir(): string {
    return resolve(this.options.rendererDir ?? DEFAULT_RENDERER_DIR);
  }

  private allowedHosts(): Set<string> {
    return new Set([`127.0.0.1:${this.port}`, `localhost:${this.port}`]);
  }

  private allowSocket(req: IncomingMessage): boolean {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (url.pathname !== SOCKET_PATH) return false;
    return this.allowedCaller(req, url.searchParams.get(TOKEN_PARAM) ?? '');
  }

  /** This launch's page: an allowed Host and Origin, and the token. */
  private allowedCaller(req: IncomingMessage, token: string): boolean {
    if (!this.allowedHosts().has(req.headers.host ?? '')) return false;
    const origin = req.headers.origin;
    if (origin === undefined || !this.allowedHosts().has(origin.replace(/^http:\/\//, ''))) return false;
    const given = Buffer.from(token);
    const expected = Buffer.from(this.token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** A document as a request body, read in bounded pieces up to the limit, then imported. */
  private async upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, envelope: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      res.end(JSON.stringify(envelope));
    };
    const header = req.headers[TOKEN_HEADER];
    if (!this.allowedCaller(req, typeof header === 'string' ? header : '')) {
      req.resume();
      return reply(403, { ok: false, error: { code: 'FORBIDDEN', message: 'This page may not upload to Strata.' } });
    }
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const requestId = url.searchParams.get('requestId') ?? '';
    const fileName = url.searchParams.get('fileName') ?? '';
    const limit = this.options.maxUploadBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
    const tooLarge = () => ({ ok: false, error: { code: 'TOO_LARGE', message: `${fileName} is larger than ${Math.ceil(limit / 2 ** 20)} MB; Strata reads documents up to that size. Split it into smaller files and add those.` } });
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) {
      req.resume();
      return reply(413, tooLarge());
    }
    const pieces: Buffer[] = [];
    let received = 0;
    for await (const piece of req as AsyncIterable<Buffer>) {
      received += piece.length;
      if (received > limit) {
        req.destroy();
        return reply(413, tooLarge());
      }
      pieces.push(piece);
    }
    const bytes = new Uint8Array(Buffer.concat(pieces, received));
    reply(200, await dispatch(this.options.api, 'documents.import', { requestId, fileName, bytes }));
  }

  private accept(ws: WebSocket): void {
    this.clients.add(ws);
    ws.on('close', () => this.clients.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let frame: ClientFrame;
      try {
        frame = decodeFrame<ClientFrame>(data.toString());
      } catch {
        return;
      }
      if (frame?.type !== 'call' || typeof frame.id !== 'number') return;
      void dispatch(this.options.api, frame.channel, frame.arg).then((envelope) => {
        if (ws.readyState === ws.OPEN) ws.send(encodeFrame({ type: 'reply', id: frame.id, envelope }));
      });
    });
  }

  private async serveFile(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.allowedHosts().has(req.headers.host ?? '')) return send(res, 403, 'Forbidden host');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed');
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://placeholder').pathname);
    const relative = pathname === '/' ? 'index.html' : normalize(pathname).replace(/^[/\\]+/, '');
    const root = this.rendererDir;
    const file = resolve(root, relative);
    if (file !== root && !file.startsWith(root + sep)) return send(res, 403, 'Forbidden path');
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return send(res, 404, 'Not found');
    let body = await readFile(file);
    // The page's CSP lets the app connect nowhere (it talks over IPC); here the page needs this
    // host's own socket and upload path, and nothing else.
    if (relative === 'index.html') body = Buffer.from(body.toString('utf8').replace("connect-src 'none'", `connect-src 'self' ws://${req.headers.host}`));
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    });
    if (req.method === 'HEAD') return void res.end();
    res.end(body);
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.terminate();
    this.sockets.close();
    await new Promise<void>((resolvePromise) => this.server.close(() => resolvePromise()));
  }
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
