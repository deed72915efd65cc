/**
 * The routes a client reaches through scopegate, the carriers that apply at each, and the
 * client's request in every encoding the oracle tries: method, path spelling, where the
 * parameters go (query, urlencoded, JSON, multipart, text/plain, no content type) and how their
 * names are spelled.
 */
import fc from 'fast-check';
import {
  ACCESS_TOKEN_CLAIMS,
  type Carrier,
  CLAIMS_ANSWER,
  DOCUMENT_FIELDS,
  ERROR_BODY,
  FORM_POST,
  HEADER_CARRIERS,
  ID_TOKEN_CLAIMS,
  JSON_BODY,
  TOKEN_EXTRA_MEMBERS,
} from './carriers.js';
import type { ClientRequest } from './client-capture.js';
import type { UpstreamEndpoint } from './leak-upstream.js';

export type RouteName =
  | 'token:authorization_code'
  | 'token:refresh_token'
  | 'token:client_credentials'
  | 'token-exchange'
  | 'authorize'
  | 'par'
  | 'logout'
  | 'proxied-path'
  | 'userinfo'
  | 'introspection'
  | 'revocation'
  | 'discovery'
  | 'jwks';

export const CLIENT = { id: 'web', secret: 'web-secret-0123456789' };
export const REDIRECT_URI = 'https://app.example.com/callback';

/** What the client holds before the request: scopegate's tokens from a code grant. */
export interface HeldTokens {
  access: string;
  id: string | undefined;
  refresh: string | undefined;
}

export const PATH_SPELLINGS = [
  'canonical',
  'trailing-slash',
  'percent-encoded',
  'upper-case',
  'dot-segment',
  'double-slash',
] as const;
export const PARAM_CARRIERS = [
  'query',
  'urlencoded',
  'json',
  'multipart',
  'text-plain',
  'no-content-type',
] as const;
export const SCOPES = [
  'openid read:claims',
  'openid email read:claims',
  'openid profile phone read:claims',
] as const;

export interface RequestEncoding {
  method: string;
  path: (typeof PATH_SPELLINGS)[number];
  params: (typeof PARAM_CARRIERS)[number];
  percentNames: boolean;
  clientAuth: 'basic' | 'post';
  scope: (typeof SCOPES)[number];
  responseType: string;
  responseMode: string | undefined;
  /** Revocation: which of its tokens the client revokes. */
  revoke: 'refresh_token' | 'access_token';
}

export interface RouteSpec {
  name: RouteName;
  /** The upstream endpoint the armed carrier answers at. */
  endpoint: UpstreamEndpoint | undefined;
  /** The client first gets scopegate's tokens with a code grant. */
  needsTokens: boolean;
  /**
   * The scope the client holds at this route, whose identity claims it may read (OpenID Connect
   * Core §5.4); '' where nothing was issued to it.
   */
  issuedScope(encoding: RequestEncoding): string;
  carriers: readonly Carrier[];
  methods: readonly string[];
  path: string;
  params(encoding: RequestEncoding, held: HeldTokens | undefined): Array<[string, string]>;
}

const FRONT_CHANNEL: readonly Carrier[] = [...HEADER_CARRIERS, FORM_POST, JSON_BODY, ERROR_BODY];
const TOKEN_CARRIERS: readonly Carrier[] = [
  ...HEADER_CARRIERS,
  TOKEN_EXTRA_MEMBERS,
  ERROR_BODY,
  ACCESS_TOKEN_CLAIMS,
];
const SERVED_CARRIERS: readonly Carrier[] = [...HEADER_CARRIERS, CLAIMS_ANSWER, ERROR_BODY];

function authorizationParams(encoding: RequestEncoding): Array<[string, string]> {
  return [
    ['client_id', CLIENT.id],
    ['redirect_uri', REDIRECT_URI],
    ['response_type', encoding.responseType],
    ...(encoding.responseMode === undefined
      ? []
      : ([['response_mode', encoding.responseMode]] as Array<[string, string]>)),
    ['scope', encoding.scope],
    ['state', 's1'],
    ['nonce', 'n1'],
  ];
}

function clientParams(encoding: RequestEncoding): Array<[string, string]> {
  return encoding.clientAuth === 'post'
    ? [
        ['client_id', CLIENT.id],
        ['client_secret', CLIENT.secret],
      ]
    : [];
}

const held = (tokens: HeldTokens | undefined): HeldTokens => {
  if (tokens === undefined) throw new Error('this route needs the tokens of a code grant');
  return tokens;
};

export const ROUTES: readonly RouteSpec[] = [
  {
    name: 'token:authorization_code',
    endpoint: 'token',
    needsTokens: false,
    issuedScope: (e) => e.scope,
    carriers: [...TOKEN_CARRIERS, ID_TOKEN_CLAIMS],
    methods: ['POST'],
    path: '/oauth/token',
    params: (e) => [
      ['grant_type', 'authorization_code'],
      ['code', 'c-1'],
      ['redirect_uri', REDIRECT_URI],
      ['scope', e.scope],
      ...clientParams(e),
    ],
  },
  {
    name: 'token:refresh_token',
    endpoint: 'token',
    needsTokens: true,
    issuedScope: (e) => e.scope,
    carriers: [...TOKEN_CARRIERS, ID_TOKEN_CLAIMS],
    methods: ['POST'],
    path: '/oauth/token',
    params: (e, tokens) => [
      ['grant_type', 'refresh_token'],
      ['refresh_token', held(tokens).refresh ?? ''],
      ...clientParams(e),
    ],
  },
  {
    name: 'token:client_credentials',
    endpoint: 'token',
    needsTokens: false,
    issuedScope: () => 'read:claims',
    carriers: TOKEN_CARRIERS,
    methods: ['POST'],
    path: '/oauth/token',
    params: (e) => [
      ['grant_type', 'client_credentials'],
      ['scope', 'read:claims'],
      ...clientParams(e),
    ],
  },
  {
    name: 'token-exchange',
    endpoint: undefined,
    needsTokens: true,
    issuedScope: () => 'read:claims',
    carriers: [ACCESS_TOKEN_CLAIMS],
    methods: ['POST'],
    path: '/oauth/token',
    params: (_e, tokens) => [
      ['grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange'],
      ['subject_token', held(tokens).access],
      ['subject_token_type', 'urn:ietf:params:oauth:token-type:access_token'],
      ['scope', 'read:claims'],
    ],
  },
  {
    name: 'authorize',
    endpoint: 'authorize',
    needsTokens: false,
    issuedScope: () => '',
    carriers: FRONT_CHANNEL,
    methods: ['GET', 'POST'],
    path: '/authorize',
    params: authorizationParams,
  },
  {
    name: 'par',
    endpoint: 'par',
    needsTokens: false,
    issuedScope: () => '',
    carriers: FRONT_CHANNEL,
    methods: ['POST'],
    path: '/par',
    params: (e) => [...authorizationParams(e), ...clientParams(e)],
  },
  {
    name: 'logout',
    endpoint: 'logout',
    needsTokens: false,
    issuedScope: () => '',
    carriers: FRONT_CHANNEL,
    methods: ['GET', 'POST'],
    path: '/logout',
    params: () => [
      ['client_id', CLIENT.id],
      ['post_logout_redirect_uri', 'https://app.example.com/bye'],
      ['state', 's1'],
    ],
  },
  {
    name: 'proxied-path',
    endpoint: 'other',
    needsTokens: false,
    issuedScope: () => '',
    carriers: FRONT_CHANNEL,
    methods: ['GET', 'POST', 'PUT'],
    path: '/account/sessions',
    params: () => [['view', 'all']],
  },
  {
    name: 'userinfo',
    endpoint: 'userinfo',
    needsTokens: true,
    issuedScope: (e) => e.scope,
    carriers: SERVED_CARRIERS,
    methods: ['GET', 'POST'],
    path: '/userinfo',
    params: () => [],
  },
  {
    name: 'introspection',
    endpoint: 'introspection',
    needsTokens: true,
    issuedScope: (e) => e.scope,
    carriers: SERVED_CARRIERS,
    methods: ['POST'],
    path: '/introspect',
    params: (e, tokens) => [['token', held(tokens).access], ...clientParams(e)],
  },
  {
    name: 'revocation',
    endpoint: 'revocation',
    needsTokens: true,
    issuedScope: (e) => e.scope,
    carriers: [...HEADER_CARRIERS, JSON_BODY, ERROR_BODY],
    methods: ['POST'],
    path: '/revoke',
    params: (e, tokens) => [
      ['token', e.revoke === 'refresh_token' ? (held(tokens).refresh ?? '') : held(tokens).access],
      ['token_type_hint', e.revoke],
      ...clientParams(e),
    ],
  },
  {
    name: 'discovery',
    endpoint: undefined,
    needsTokens: false,
    issuedScope: () => '',
    carriers: [DOCUMENT_FIELDS],
    methods: ['GET'],
    path: '/.well-known/openid-configuration',
    params: () => [],
  },
  {
    name: 'jwks',
    endpoint: undefined,
    needsTokens: false,
    issuedScope: () => '',
    carriers: [DOCUMENT_FIELDS],
    methods: ['GET'],
    path: '/.well-known/jwks.json',
    params: () => [],
  },
];

function spellPath(path: string, spelling: RequestEncoding['path']): string {
  switch (spelling) {
    case 'trailing-slash':
      return `${path}/`;
    case 'percent-encoded': {
      const last = path.lastIndexOf('/') + 1;
      const c = path.charAt(last);
      return `${path.slice(0, last)}%${c.charCodeAt(0).toString(16).toUpperCase()}${path.slice(last + 1)}`;
    }
    case 'upper-case':
      return path.toUpperCase();
    case 'dot-segment':
      return `/x/..${path}`;
    case 'double-slash':
      return `/${path}`;
    default:
      return path;
  }
}

const spellName = (name: string, percent: boolean) => (percent ? name.replace(/_/g, '%5F') : name);

function urlencoded(params: Array<[string, string]>, percentNames: boolean): string {
  return params
    .map(([n, v]) => `${spellName(encodeURIComponent(n), percentNames)}=${encodeURIComponent(v)}`)
    .join('&');
}

/** The client's request for a route in one encoding. */
export function clientRequest(
  route: RouteSpec,
  encoding: RequestEncoding,
  tokens: HeldTokens | undefined,
): ClientRequest {
  const method = route.methods.includes(encoding.method)
    ? encoding.method
    : (route.methods[0] as string);
  const params = route.params(encoding, tokens);
  const headers: Record<string, string> = {
    host: 'gateway.test',
    'accept-encoding': 'gzip, deflate, br',
  };
  if (encoding.clientAuth === 'basic' && route.name !== 'token-exchange') {
    headers.authorization = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
  }
  if (route.name === 'userinfo') {
    headers.authorization = `Bearer ${held(tokens).access}`;
  }
  let path = spellPath(route.path, encoding.path);
  const inQuery = encoding.params === 'query' || method === 'GET';
  if (inQuery) {
    const query = urlencoded(params, encoding.percentNames);
    return { method, path: query === '' ? path : `${path}?${query}`, headers };
  }
  let body: Buffer;
  switch (encoding.params) {
    case 'json':
      headers['content-type'] = 'application/json';
      body = Buffer.from(JSON.stringify(Object.fromEntries(params)));
      break;
    case 'multipart': {
      const boundary = 'leakoracleboundary';
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
      body = Buffer.from(
        `${params
          .map(
            ([n, v]) =>
              `--${boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`,
          )
          .join('')}--${boundary}--\r\n`,
      );
      break;
    }
    case 'text-plain':
      headers['content-type'] = 'text/plain';
      body = Buffer.from(params.map(([n, v]) => `${n}=${v}\r\n`).join(''));
      break;
    case 'no-content-type':
      body = Buffer.from(urlencoded(params, encoding.percentNames));
      break;
    default:
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = Buffer.from(urlencoded(params, encoding.percentNames));
  }
  if (path === '') path = '/';
  return { method, path, headers, body };
}

/** The plain request every cell tries first: the spelling and carrier a real client uses. */
export const PLAIN_REQUEST: RequestEncoding = {
  method: 'GET',
  path: 'canonical',
  params: 'urlencoded',
  percentNames: false,
  clientAuth: 'basic',
  scope: 'openid read:claims',
  responseType: 'code',
  responseMode: undefined,
  revoke: 'refresh_token',
};

export function plainRequest(route: RouteSpec): RequestEncoding {
  return { ...PLAIN_REQUEST, method: route.methods[0] as string };
}

export const requestEncodings: fc.Arbitrary<RequestEncoding> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT'),
  path: fc.constantFrom(...PATH_SPELLINGS),
  params: fc.constantFrom(...PARAM_CARRIERS),
  percentNames: fc.boolean(),
  clientAuth: fc.constantFrom('basic' as const, 'post' as const),
  scope: fc.constantFrom(...SCOPES),
  responseType: fc.constantFrom('code', 'token', 'id_token token', 'code id_token', 'code token'),
  responseMode: fc.constantFrom(undefined, 'query', 'fragment', 'form_post'),
  revoke: fc.constantFrom('refresh_token' as const, 'access_token' as const),
});
