import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  bodyKind,
  parseTokenRequestBody,
  readBody,
  serializeTokenRequestBody,
} from '../../proxy/http/body.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';

function parse(text: string, kind: 'form' | 'json') {
  return parseTokenRequestBody(Buffer.from(text), kind);
}

function failure(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  throw new Error('expected an OAuthError');
}

function fakeRequest(chunks: string[], headers: Record<string, string> = {}): IncomingMessage {
  const stream = Readable.from(chunks.map((chunk) => Buffer.from(chunk))) as IncomingMessage;
  stream.headers = headers;
  return stream;
}

describe('content types', () => {
  it.each([
    ['application/x-www-form-urlencoded', 'form'],
    ['application/x-www-form-urlencoded; charset=UTF-8', 'form'],
    ['Application/JSON', 'json'],
    ['application/json;charset=utf-8', 'json'],
    ['text/plain', undefined],
    ['multipart/form-data; boundary=x', undefined],
    [undefined, undefined],
  ])('%s → %s', (contentType, kind) => {
    expect(bodyKind(contentType)).toBe(kind);
  });
});

describe('form bodies', () => {
  it('parses parameters and treats empty values as absent', () => {
    const body = parse('grant_type=client_credentials&scope=a+b&audience=&client_id=c%201', 'form');
    expect(Object.fromEntries(body.params)).toEqual({
      grant_type: 'client_credentials',
      scope: 'a b',
      client_id: 'c 1',
    });
  });

  it.each([
    ['scope=a&scope=b', 'scope'],
    ['scope=a&grant_type=x&scope=', 'scope'],
    ['client_id=a&client_id=a', 'client_id'],
  ])('refuses a repeated parameter: %s', (text, name) => {
    const error = failure(() => parse(text, 'form'));
    expect(error.error).toBe('invalid_request');
    expect(error.status).toBe(400);
    expect(error.description).toBe(`parameter '${name}' is repeated`);
  });

  it('lets resource repeat (RFC 8707) and writes every value back', () => {
    const body = parse('grant_type=x&resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb', 'form');
    expect(body.resources).toEqual(['https://a', 'https://b']);
    expect(serializeTokenRequestBody(body)).toBe(
      'grant_type=x&resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb',
    );
  });
});

describe('JSON bodies', () => {
  it('parses string, number and boolean members, skipping null', () => {
    const body = parse('{"grant_type":"client_credentials","n":3,"b":true,"z":null}', 'json');
    expect(Object.fromEntries(body.params)).toEqual({
      grant_type: 'client_credentials',
      n: '3',
      b: 'true',
    });
  });

  it.each([
    ['{"scope":"a","scope":"b"}', "parameter 'scope' is repeated"],
    ['{"scope":["a","b"]}', "parameter 'scope' is repeated"],
    ['{"scope":{"a":1}}', "parameter 'scope' must be a string"],
    ['[1,2]', 'request body must be a JSON object'],
    ['{"scope":', 'request body is not valid JSON'],
  ])('refuses %s', (text, description) => {
    const error = failure(() => parse(text, 'json'));
    expect(error.error).toBe('invalid_request');
    expect(error.description).toBe(description);
  });

  it('does not mistake nested or escaped keys for repeats', () => {
    const body = parse('{"q":"\\"scope\\":","resource":["scope"],"scope":"s"}', 'json');
    expect(body.params.get('scope')).toBe('s');
  });

  it('round-trips through serialisation', () => {
    const body = parse('{"grant_type":"client_credentials","resource":["r1","r2"]}', 'json');
    expect(JSON.parse(serializeTokenRequestBody(body))).toEqual({
      grant_type: 'client_credentials',
      resource: ['r1', 'r2'],
    });
  });
});

describe('size cap', () => {
  it('refuses a declared length over the cap before reading', async () => {
    const request = fakeRequest(['x'], { 'content-length': '5000' });
    await expect(readBody(request, 1024)).rejects.toMatchObject({ status: 413 });
  });

  it('refuses a streamed body that grows over the cap', async () => {
    const request = fakeRequest(['a'.repeat(600), 'b'.repeat(600)]);
    await expect(readBody(request, 1024)).rejects.toMatchObject({
      error: 'invalid_request',
      status: 413,
    });
  });

  it('keeps nothing past the cap: the rest of an oversized body flows past unread', async () => {
    const request = fakeRequest(['a'.repeat(600), 'b'.repeat(600), 'c'.repeat(600)]);
    await expect(readBody(request, 1024)).rejects.toMatchObject({ status: 413 });
    expect(request.listenerCount('data')).toBe(0);
    await finished(request);
    expect(request.readableLength).toBe(0);
  });

  it('refuses a body whose stream breaks or closes before its end', async () => {
    const broken = new Readable({ read() {} }) as IncomingMessage;
    broken.headers = {};
    const reading = readBody(broken, 1024);
    broken.push(Buffer.from('grant_type='));
    broken.destroy(new Error('socket hang up'));
    await expect(reading).rejects.toMatchObject({ error: 'invalid_request', status: 400 });

    const closed = new Readable({ read() {} }) as IncomingMessage;
    closed.headers = {};
    const cut = readBody(closed, 1024);
    closed.push(Buffer.from('grant_type='));
    closed.destroy();
    await expect(cut).rejects.toMatchObject({ error: 'invalid_request', status: 400 });
  });

  it('reads a body within the cap', async () => {
    const body = await readBody(fakeRequest(['ab', 'cd']), 1024);
    expect(body.toString()).toBe('abcd');
  });
});
