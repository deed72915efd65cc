/**
 * Token request bodies: read with a size cap, parsed as form-urlencoded or JSON. A repeated
 * parameter is invalid_request (RFC 6749 §3.2); an empty parameter counts as absent. The one
 * exception is `resource`, which RFC 8707 §2 lets a client repeat.
 */
import type { IncomingMessage } from 'node:http';
import { parseFormPairs, TooManyFormPairs } from './form-urlencoded.js';
import { jsonShapeProblem } from './json-duplicates.js';
import { invalidRequest, OAuthError } from './oauth-error.js';
import { parseUntrustedJson, UntrustedJsonRefused } from './untrusted-json.js';

export type BodyKind = 'form' | 'json';

export interface TokenRequestBody {
  kind: BodyKind;
  /** Parameters in arrival order, `resource` excepted; values are non-empty strings. */
  params: Map<string, string>;
  /** Every `resource` value (RFC 8707), in order. */
  resources: string[];
}

const REPEATABLE = 'resource';

/**
 * Token requests carry about ten parameters. A body with far more (a megabyte of `a=&b=&...` or
 * of JSON members, or of nested brackets) is refused by a linear count before the full parse, so
 * a hostile body costs about what a plain one of the same size does.
 */
export const MAX_PARAMETERS = 64;
const JSON_LIMITS = { maxDepth: 4, maxMembers: MAX_PARAMETERS };

const tooManyParameters = () => invalidRequest(`more than ${MAX_PARAMETERS} parameters`);

export function bodyKind(contentType: string | undefined): BodyKind | undefined {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/x-www-form-urlencoded') return 'form';
  if (mediaType === 'application/json') return 'json';
  return undefined;
}

/**
 * Reads the whole body, refusing anything over `limit` bytes without buffering it. Plain stream
 * events rather than `for await`: the async iterator costs a few kilobytes of promises per
 * request on the token path's hot loop.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(
      new OAuthError('invalid_request', `request body larger than ${limit} bytes`, 413),
    );
  }
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onBroken);
      req.off('close', onBroken);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stop();
        // Nothing more is kept: the rest of the body flows past unread (bounded by the server's
        // request timeout) while the 413 is written, and the connection stays usable.
        req.resume();
        reject(new OAuthError('invalid_request', `request body larger than ${limit} bytes`, 413));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    // The client went away mid-body: its failure, not the gateway's (no error-level log line).
    const onBroken = () => {
      stop();
      reject(invalidRequest('the request body could not be read'));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onBroken);
    req.once('close', onBroken);
  });
}

interface Collected {
  params: Map<string, string>;
  resources: string[];
  seen: Set<string>;
}

function collector(): Collected {
  return { params: new Map(), resources: [], seen: new Set() };
}

function addParam(collected: Collected, name: string, value: string) {
  if (name === REPEATABLE) {
    if (collected.resources.length >= MAX_PARAMETERS) throw tooManyParameters();
    if (value !== '') collected.resources.push(value);
    return;
  }
  const { params, seen } = collected;
  if (seen.has(name)) throw invalidRequest(`parameter "${name}" is repeated`);
  seen.add(name);
  if (value !== '') params.set(name, value);
}

function parseForm(body: Buffer): Collected {
  let pairs: Array<[string, string]>;
  try {
    pairs = parseFormPairs(body, MAX_PARAMETERS);
  } catch (error) {
    if (error instanceof TooManyFormPairs) throw tooManyParameters();
    throw error;
  }
  const collected = collector();
  for (const [name, value] of pairs) addParam(collected, name, value);
  return collected;
}

function parseJson(text: string): Collected {
  let value: unknown;
  try {
    value = parseUntrustedJson(text);
  } catch (error) {
    if (error instanceof UntrustedJsonRefused && error.reason === 'prototype_member') {
      throw invalidRequest('parameter "__proto__" is not accepted');
    }
    throw invalidRequest('request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequest('request body must be a JSON object');
  }
  const collected = collector();
  for (const [name, item] of Object.entries(value)) {
    if (name === REPEATABLE && Array.isArray(item) && item.every((v) => typeof v === 'string')) {
      for (const resource of item) addParam(collected, name, resource);
    } else if (Array.isArray(item)) {
      throw invalidRequest(`parameter "${name}" is repeated`);
    } else if (item === null) {
    } else if (typeof item === 'number' || typeof item === 'boolean') {
      addParam(collected, name, String(item));
    } else if (typeof item === 'string') {
      addParam(collected, name, item);
    } else {
      throw invalidRequest(`parameter "${name}" must be a string`);
    }
  }
  return collected;
}

export function parseTokenRequestBody(body: Buffer, kind: BodyKind): TokenRequestBody {
  if (kind === 'json') {
    const text = body.toString('utf8');
    // JSON.parse keeps the last of repeated keys silently; a repeated key is refused like a
    // repeated form parameter.
    const problem = jsonShapeProblem(text, JSON_LIMITS);
    if (problem?.kind === 'repeated') {
      throw invalidRequest(`parameter "${problem.name}" is repeated`);
    }
    if (problem?.kind === 'too_many_members') throw tooManyParameters();
    if (problem?.kind === 'too_deep') throw invalidRequest('request body nests too deeply');
    const { params, resources } = parseJson(text);
    return { kind, params, resources };
  }
  const { params, resources } = parseForm(body);
  return { kind, params, resources };
}

/** Serialises parameters back in the request's own format for the upstream. */
export function serializeTokenRequestBody(body: TokenRequestBody): string {
  if (body.kind === 'json') {
    const object: Record<string, string | string[]> = Object.fromEntries(body.params);
    if (body.resources.length > 0) {
      object.resource =
        body.resources.length === 1 ? (body.resources[0] as string) : body.resources;
    }
    return JSON.stringify(object);
  }
  const form = new URLSearchParams([...body.params]);
  for (const resource of body.resources) form.append(REPEATABLE, resource);
  return form.toString();
}
