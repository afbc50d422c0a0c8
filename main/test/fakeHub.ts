// A loopback HTTP server that serves files the way the Hugging Face Hub does, for download tests:
// /OWNER/REPO/resolve/main/FILE with HEAD, Range requests (206) and a Content-Length, and
// /api/models/OWNER/REPO/tree/main with each file's size and SHA-256 (its Git LFS oid).
// /api/models?search=Q lists the repository when Q is part of its name.
// `damage` serves other bytes than the listing promises, `servedBytes` fewer; `cutAfterBytes` ends the first full GET early;
// `pieceDelayMs` sends the body in 64 KiB pieces that far apart (a slow line, to cancel mid-file).
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeHubFile {
  bytes: Uint8Array;
  damage?: boolean;
  cutAfterBytes?: number;
  pieceDelayMs?: number;
  /** Serves only the first N bytes (a file cut short on the server) while the listing promises all. */
  servedBytes?: number;
  /** Until releaseStalls(), a GET sends the file up to this byte and then nothing, holding the line open (a line gone quiet). */
  stallAfterBytes?: number;
}

export interface FakeHub {
  endpoint: string;
  /** Every range start a GET asked for (0 without a Range header), per file. */
  rangeStarts: Map<string, number[]>;
  /** Bytes asked for by GETs (their ranges' lengths), per file. */
  requestedBytes: Map<string, number>;
  /** Bytes of a slow file (pieceDelayMs) actually sent before the client hung up, per file. */
  sentBytes: Map<string, number>;
  /** Ends the stall of stallAfterBytes: held requests are dropped, new ones are served whole. */
  releaseStalls(): void;
  close(): Promise<void>;
}

export async function startFakeHub(owner: string, repo: string, files: Record<string, FakeHubFile>): Promise<FakeHub> {
  const rangeStarts = new Map<string, number[]>();
  const requestedBytes = new Map<string, number>();
  const sentBytes = new Map<string, number>();
  const held = new Set<import('node:http').ServerResponse>();
  let stalling = true;
  const cut = new Set<string>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    if (url.pathname === '/api/models') {
      const query = (url.searchParams.get('search') ?? '').toLowerCase();
      const hit = query !== '' && `${owner}/${repo}`.toLowerCase().includes(query);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(hit ? [{ id: `${owner}/${repo}`, downloads: 1234, likes: 5 }] : []));
    }
    const tree = `/api/models/${owner}/${repo}/tree/main`;
    if (url.pathname.startsWith(tree)) {
      const folder = decodeURIComponent(url.pathname.slice(tree.length).replace(/^\//, ''));
      const listing = Object.entries(files)
        .filter(([path]) => (folder === '' ? !path.includes('/') : path.startsWith(`${folder}/`)))
        .map(([path, file]) => ({ type: 'file', path, size: file.bytes.length, lfs: { oid: createHash('sha256').update(file.bytes).digest('hex'), size: file.bytes.length } }));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(listing));
    }
    const prefix = `/${owner}/${repo}/resolve/main/`;
    const path = decodeURIComponent(url.pathname.slice(prefix.length));
    const file = url.pathname.startsWith(prefix) ? files[path] : undefined;
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('Entry not found');
    }
    const whole = file.servedBytes === undefined ? file.bytes : file.bytes.subarray(0, file.servedBytes);
    const body = file.damage ? whole.map((b, i) => (i === Math.floor(whole.length / 2) ? b ^ 0xff : b)) : whole;
    const common = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', ETag: `"${path}"` };
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...common, 'Content-Length': body.length });
      return res.end();
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] !== '' ? Number(range[2]) : body.length - 1;
    rangeStarts.set(path, [...(rangeStarts.get(path) ?? []), start]);
    const slice = body.subarray(start, end + 1);
    requestedBytes.set(path, (requestedBytes.get(path) ?? 0) + slice.length);
    res.writeHead(range ? 206 : 200, { ...common, 'Content-Length': slice.length, ...(range ? { 'Content-Range': `bytes ${start}-${end}/${body.length}` } : {}) });
    if (stalling && file.stallAfterBytes !== undefined) {
      held.add(res);
      res.once('close', () => held.delete(res));
      if (start < file.stallAfterBytes) res.write(body.subarray(start, file.stallAfterBytes));
      return;
    }
    if (file.cutAfterBytes !== undefined && !cut.has(path) && slice.length > file.cutAfterBytes) {
      cut.add(path);
      res.write(slice.subarray(0, file.cutAfterBytes), () => res.destroy()); // the connection drops mid-file
      return;
    }
    if (file.pieceDelayMs !== undefined) {
      let at = 0;
      const next = () => {
        if (res.destroyed) return;
        if (at >= slice.length) return void res.end();
        const piece = slice.subarray(at, at + 65_536);
        at += piece.length;
        sentBytes.set(path, (sentBytes.get(path) ?? 0) + piece.length);
        res.write(piece, () => setTimeout(next, file.pieceDelayMs));
      };
      return next();
    }
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/`,
    rangeStarts,
    requestedBytes,
    sentBytes,
    releaseStalls: () => {
      stalling = false;
      for (const res of held) res.destroy();
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
