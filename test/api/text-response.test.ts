/**
 * The API's JSON answers keep their text and make a real body only when something reads it
 * (src/api/respond.ts). They must still behave as any `Response` to a framework that mounts the
 * handler, and `toNodeListener` must write exactly that text with its length.
 */
import { describe, expect, it } from 'vitest';
import { json } from '../../src/api/respond.js';
import { serveOnLoopback } from '../support/api-server.js';

const VALUE = { name: 'Zoë — ünïcode', list: [1, 2, 3] };

describe('JSON answers as Responses', () => {
  it('reads once through any body method, as a Response does', async () => {
    const response = json(200, VALUE);
    expect(response).toBeInstanceOf(Response);
    expect(response.bodyUsed).toBe(false);
    expect(await response.json()).toEqual(VALUE);
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toThrow(TypeError);
  });

  it('streams its body, clones before reading, and keeps headers set after it was made', async () => {
    const response = json(401, VALUE);
    response.headers.set('www-authenticate', 'Bearer');
    const copy = response.clone();
    const chunks: Uint8Array[] = [];
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toEqual(VALUE);
    expect(await copy.json()).toEqual(VALUE);
    expect(copy.status).toBe(401);
    expect(copy.headers.get('www-authenticate')).toBe('Bearer');
    expect(json(204, null).body).toBeNull();
  });

  it('is written by toNodeListener as its exact bytes, with their length and every header', async () => {
    const server = await serveOnLoopback(async () => {
      const response = json(201, VALUE);
      response.headers.set('x-late', 'yes');
      return response;
    });
    try {
      const answer = await fetch(`${server.url}/anything`);
      const bytes = Buffer.from(await answer.arrayBuffer());
      expect(answer.status).toBe(201);
      expect(answer.headers.get('x-late')).toBe('yes');
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(Number(answer.headers.get('content-length'))).toBe(bytes.length);
      expect(bytes.toString('utf8')).toBe(JSON.stringify(VALUE));
    } finally {
      await server.close();
    }
  });
});
