import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import type { Envelope } from '../../preload/api.ts';
import { decodeFrame, type ServerFrame } from '../../preload/wire.ts';
import { StrataService } from '../services/StrataService.ts';
import { clientApi, connect } from '../test/socketClient.ts';
import { tempDir } from '../test/tempDir.ts';
import { BrowserHost } from './BrowserHost.ts';

async function startHost(t: TestContext) {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Strata</title>');
  let host: BrowserHost | null = null;
  const service = new StrataService({ dataDir: join(dir, 'data'), host: 'browser', version: 'test', emit: (e, p) => host?.broadcast(e, p) });
  host = new BrowserHost({ api: service, rendererDir: dir });
  const url = new URL(await host.listen());
  t.after(async () => {
    await host.close();
    await service.dispose();
  });
  return { host, url, service, dir };
}

function httpGet(url: URL, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: url.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves the renderer only to its own Host, and never outside its folder', async (t) => {
  const { url } = await startHost(t);
  const ok = await httpGet(url, '/');
  assert.equal(ok.status, 200);
  assert.match(ok.body, /<title>Strata/);
  assert.equal(ok.headers['referrer-policy'], 'no-referrer');
  assert.equal((await httpGet(url, '/', { Host: `evil.example:${url.port}` })).status, 403);
  for (const path of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd']) {
    const res = await httpGet(url, path);
    assert.ok(res.status === 403 || res.status === 404, `${path} → ${res.status}`);
    assert.doesNotMatch(res.body, /root:/);
  }
});

test('the socket refuses a missing or wrong token, a foreign Origin and a foreign Host', async (t) => {
  const { url, host } = await startHost(t);
  await assert.rejects(connect(url, {}), /403/);
  await assert.rejects(connect(url, { token: 'a'.repeat(host.token.length) }), /403/);
  await assert.rejects(connect(url, { token: host.token, origin: 'http://evil.example' }), /403/);
  await assert.rejects(connect(url, { token: host.token, host: `rebound.example:${url.port}` }), /403/);
  const ws = await connect(url, { token: host.token });
  ws.close();
});

test('the same API works over the socket, with error codes and bytes intact', async (t) => {
  const { url, host } = await startHost(t);
  const ws = await connect(url, { token: host.token });
  t.after(() => ws.close());
  const { api, events } = clientApi(ws);
  const info = await api.app.info();
  assert.equal(info.host, 'browser');
  const text = 'Line one of the contract.\nLine two — naïve 東京.\n';
  const doc = await api.documents.import({ requestId: 'r1', fileName: 'contract.txt', bytes: new TextEncoder().encode(text) });
  assert.equal(doc.fileName, 'contract.txt');
  assert.equal((await api.documents.getText({ id: doc.id })).text, text.trimEnd());
  assert.ok(events.some((e) => e.type === 'event' && e.name === 'documents.onImportProgress' && e.payload.phase === 'done'));
  await assert.rejects(api.chat.messages({ conversationId: '' }), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT');
  await assert.rejects(
    api.documents.import({ requestId: 'r2', fileName: 'blob.txt', bytes: new Uint8Array([0, 1, 2, 0, 255, 0, 7, 0]) }),
    (e: Error & { code?: string }) => e.code === 'BINARY_FILE' && /blob\.txt/.test(e.message),
  );
  assert.equal((await api.documents.list()).length, 1, 'the failed import lost nothing and added nothing');
});

test("documents' KV state and Prepare travel over the socket, their refusals with their codes", async (t) => {
  const { url, host } = await startHost(t);
  const ws = await connect(url, { token: host.token });
  t.after(() => ws.close());
  const { api } = clientApi(ws);
  const doc = await api.documents.import({ requestId: 'r1', fileName: 'notes.txt', bytes: new TextEncoder().encode('Some notes.\n') });
  const state = await api.documents.kvState();
  assert.equal(state.engine, null);
  assert.match(state.unavailableReason ?? '', /No model is open/);
  assert.deepEqual(state.documents, []);
  await assert.rejects(api.documents.prepare({ id: doc.id }), (e: Error & { code?: string }) => e.code === 'NO_MODEL');
  await assert.rejects(api.documents.prepare({ id: 'nope' }), (e: Error & { code?: string }) => e.code === 'NOT_FOUND' && /nope/.test(e.message));
  await api.documents.cancelPrepare({ id: doc.id });
});

test('an unknown channel gets an error reply, not a crash', async (t) => {
  const { url, host } = await startHost(t);
  const ws = await connect(url, { token: host.token });
  t.after(() => ws.close());
  const reply = new Promise<ServerFrame>((resolve) => ws.once('message', (d) => resolve(decodeFrame<ServerFrame>(d.toString()))));
  ws.send(JSON.stringify({ type: 'call', id: 7, channel: 'catalog.__proto__', arg: null }));
  const frame = await reply;
  assert.equal(frame.type, 'reply');
  assert.deepEqual(frame.type === 'reply' && frame.envelope, { ok: false, error: { code: 'UNKNOWN_CHANNEL', message: 'Unknown channel: catalog.__proto__' } });
});

test('documents upload as a request body of any size up to the limit; a foreign page or an oversized body is refused', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Strata</title>');
  const service = new StrataService({ dataDir: join(dir, 'data'), host: 'browser', version: 'test', emit: () => undefined });
  const host = new BrowserHost({ api: service, rendererDir: dir, maxUploadBytes: 64 * 2 ** 20 });
  const url = new URL(await host.listen());
  t.after(async () => {
    await host.close();
    await service.dispose();
  });
  const post = (fileName: string, body: Uint8Array, headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${url.port}/api/upload?requestId=${fileName}&fileName=${encodeURIComponent(fileName)}`, { method: 'POST', headers, body: new Blob([body as BlobPart]) });
  const page = { 'x-strata-token': host.token, Origin: `http://127.0.0.1:${url.port}` };
  // 48 MB of text: as a base64 frame that would be a 64 MB string; here it streams in pieces.
  const line = 'The tenant pays the rent on the first day of every month, as agreed.\n';
  const big = new TextEncoder().encode(line.repeat(Math.ceil((48 * 2 ** 20) / line.length)));
  const response = await post('ledger.txt', big, page);
  assert.equal(response.status, 200);
  const envelope = (await response.json()) as Envelope<{ fileName: string; sizeBytes: number }>;
  assert.ok(envelope.ok, JSON.stringify(envelope));
  assert.equal(envelope.value.fileName, 'ledger.txt');
  assert.equal(envelope.value.sizeBytes, big.byteLength);

  const foreign = await post('x.txt', new TextEncoder().encode('hi'), { ...page, Origin: 'http://evil.example' });
  assert.equal(foreign.status, 403);
  const noToken = await post('x.txt', new TextEncoder().encode('hi'), { Origin: page.Origin });
  assert.equal(noToken.status, 403);
  const oversized = await post('huge.txt', new Uint8Array(65 * 2 ** 20).fill(0x61), page);
  assert.equal(oversized.status, 413);
  const refused = (await oversized.json()) as Envelope<unknown>;
  assert.ok(!refused.ok && refused.error.code === 'TOO_LARGE' && /huge\.txt is larger than 64 MB/.test(refused.error.message));
  assert.deepEqual((await service.documents.list()).map((d) => d.fileName), ['ledger.txt']);
});

test("the page's CSP connects nowhere in the app, and only to this host's own socket in the browser host", async (t) => {
  const source = readFileSync(new URL('../../renderer/index.html', import.meta.url), 'utf8');
  assert.match(source, /connect-src 'none'/, 'the Electron window talks over IPC only');
  assert.doesNotMatch(source, /ws:\/\/127\.0\.0\.1:\*/);
  const { url, dir } = await startHost(t);
  writeFileSync(join(dir, 'index.html'), source);
  const page = await httpGet(url, '/');
  assert.match(page.body, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${url.port};`));
});
