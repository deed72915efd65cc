/**
 * The carriers: every place a response can hold the upstream's tokens and unnarrowed claims, as
 * the leak oracle's upstream writes them when armed. A carrier has variants (spellings,
 * encodings, page types and sizes); the routes (routes.ts) say which carriers apply where.
 */
import {
  BODY_ENCODINGS,
  type BodyEncoding,
  encodedAnswer,
  entityEncodeAll,
  jsonAnswer,
  percentEncodeAll,
  spell,
} from './body-encodings.js';
import type { Armed, IssuedTokens, RawAnswer, TokenShape } from './leak-upstream.js';
import { SUBJECT } from './leak-upstream.js';
import {
  authorizationClaims,
  GRANTED_SCOPES,
  identityClaims,
  UNREQUESTED_SCOPES,
} from './wide-claims.js';

export interface Carrier {
  name: string;
  variants: readonly string[];
  /** The answer the upstream is armed with at the route's endpoint. */
  arm?: (variant: string) => Armed;
  /** The shape of every token the upstream issues during the case. */
  shape?: (variant: string) => TokenShape;
}

const REDIRECT = 'https://app.example.com/callback';
const WIDE_SCOPE = GRANTED_SCOPES.join(' ');

/** The authorization response an implicit/hybrid flow would carry, as URL parameters. */
function tokenParams(tokens: IssuedTokens, percent: boolean): string {
  const value = (token: string) => (percent ? percentEncodeAll(token) : token);
  return [
    `access_token=${value(tokens.access)}`,
    `id_token=${value(tokens.id)}`,
    `refresh_token=${value(tokens.refresh)}`,
    'token_type=Bearer',
    `scope=${encodeURIComponent(WIDE_SCOPE)}`,
    'state=s1',
  ].join('&');
}

function withHeader(answer: RawAnswer, name: string, value: string, status?: number): RawAnswer {
  return {
    ...answer,
    ...(status === undefined ? {} : { status }),
    headers: [...(answer.headers ?? []).filter(([n]) => n !== name), [name, value]],
  };
}

const SPELLINGS = ['plain', 'percent-encoded'] as const;

/** A header carrier: the usual answer with one more header (or status) holding the tokens. */
function headerCarrier(
  name: string,
  place: (answer: RawAnswer, tokens: IssuedTokens, percent: boolean) => RawAnswer,
): Carrier {
  return {
    name,
    variants: SPELLINGS,
    arm: (variant) => async (_request, tokens, usual) =>
      place(await usual(), tokens, variant === 'percent-encoded'),
  };
}

export const HEADER_CARRIERS: readonly Carrier[] = [
  {
    name: 'status-reason',
    variants: ['plain'],
    arm: () => async (_request, tokens, usual) => ({
      ...(await usual()),
      reason: `OK ${tokens.access} ${UNREQUESTED_SCOPES[0]}`,
    }),
  },
  headerCarrier('location-query', (answer, tokens, percent) =>
    withHeader(answer, 'location', `${REDIRECT}?${tokenParams(tokens, percent)}`, 302),
  ),
  headerCarrier('location-fragment', (answer, tokens, percent) =>
    withHeader(answer, 'location', `${REDIRECT}#${tokenParams(tokens, percent)}`, 302),
  ),
  headerCarrier('refresh-header', (answer, tokens, percent) =>
    withHeader(answer, 'refresh', `0; url=${REDIRECT}#${tokenParams(tokens, percent)}`),
  ),
  headerCarrier('link-header', (answer, tokens, percent) =>
    withHeader(answer, 'link', `<${REDIRECT}?${tokenParams(tokens, percent)}>; rel="next"`),
  ),
  headerCarrier('set-cookie', (answer, tokens, percent) => ({
    ...answer,
    headers: [
      ...(answer.headers ?? []),
      [
        'set-cookie',
        `upstream_at=${spell(tokens.access, percent ? 'percent-encoded' : 'identity')}; Path=/; HttpOnly`,
      ],
      ['set-cookie', `upstream_rt=${tokens.refresh}; Path=/`],
    ],
  })),
  headerCarrier('custom-header', (answer, tokens, percent) =>
    withHeader(
      answer,
      'x-upstream-token',
      percent ? percentEncodeAll(tokens.access) : `${tokens.access} scope=${WIDE_SCOPE}`,
    ),
  ),
];

/** A page that posts the authorization response, in the types and sizes browsers render. */
export const FORM_POST_VARIANTS = [
  'html-token-fields',
  'html-token-in-code-field',
  'html-entity-encoded-values',
  'html-over-256KiB',
  'html-gzip',
  'xhtml',
  'no-content-type',
  'text-plain',
] as const;

function formPostPage(tokens: IssuedTokens, variant: string): RawAnswer {
  const value = (token: string) =>
    variant === 'html-entity-encoded-values' ? entityEncodeAll(token) : token;
  const fields =
    variant === 'html-token-fields'
      ? [
          ['access_token', tokens.access],
          ['id_token', tokens.id],
          ['refresh_token', tokens.refresh],
          ['scope', WIDE_SCOPE],
        ]
      : [
          // Names no filter looks for: only the values (JWS of the upstream's) say what they are.
          ['code', tokens.access],
          ['state', tokens.id],
          ['scope', WIDE_SCOPE],
        ];
  const inputs = fields
    .map(([name, v]) => `<input type="hidden" name="${name}" value="${value(v as string)}"/>`)
    .join('');
  const padding = variant === 'html-over-256KiB' ? `<!-- ${'x'.repeat(300 * 1024)} -->` : '';
  const xhtml = variant === 'xhtml' ? ' xmlns="http://www.w3.org/1999/xhtml"' : '';
  const page = `<!DOCTYPE html><html${xhtml}><head><title>Submit</title></head><body onload="document.forms[0].submit()">${padding}<form method="post" action="${REDIRECT}">${inputs}</form></body></html>`;
  const type =
    variant === 'xhtml'
      ? 'application/xhtml+xml'
      : variant === 'no-content-type'
        ? undefined
        : variant === 'text-plain'
          ? 'text/plain'
          : 'text/html; charset=utf-8';
  return encodedAnswer(200, type, Buffer.from(page), variant === 'html-gzip' ? 'gzip' : 'identity');
}

export const FORM_POST: Carrier = {
  name: 'form-post',
  variants: FORM_POST_VARIANTS,
  arm: (variant) => (_request, tokens) => formPostPage(tokens, variant),
};

/** A JSON body that hands the tokens out (what an authorization endpoint's API mode answers). */
export const JSON_BODY: Carrier = {
  name: 'json-body',
  variants: BODY_ENCODINGS,
  arm: (variant) => (_request, tokens) => {
    const encoding = variant as BodyEncoding;
    return jsonAnswer(
      200,
      {
        access_token: spell(tokens.access, encoding),
        id_token: spell(tokens.id, encoding),
        refresh_token: spell(tokens.refresh, encoding),
        token_type: 'Bearer',
        scope: WIDE_SCOPE,
      },
      encoding,
    );
  },
};

/**
 * An error answer whose description quotes the token it was given (the upstream's refresh or
 * access token scopegate sent in the client's place) and an access token of its own (a JWS:
 * recognisable by the upstream's keys even where scopegate sent nothing).
 */
export const ERROR_BODY: Carrier = {
  name: 'error-body',
  variants: BODY_ENCODINGS,
  arm: (variant) => (request, tokens) => {
    const encoding = variant as BodyEncoding;
    const given = request.params.get('token') ?? request.params.get('refresh_token');
    const quoted =
      given === null ? '' : `token ${spell(given, encoding)} cannot be used by this client; `;
    return jsonAnswer(
      400,
      {
        error: 'invalid_request',
        error_description: `${quoted}current session ${spell(tokens.access, encoding)}`,
      },
      encoding,
    );
  },
};

/** The token endpoint's success answer with more members than the standard ones. */
export const TOKEN_EXTRA_MEMBERS: Carrier = {
  name: 'token-extra-members',
  variants: BODY_ENCODINGS,
  arm: (variant) => async (_request, tokens, usual) => {
    const encoding = variant as BodyEncoding;
    const answer = await usual();
    const body = JSON.parse((answer.body ?? Buffer.from('{}')).toString('utf8')) as Record<
      string,
      unknown
    >;
    return jsonAnswer(
      200,
      {
        ...body,
        upstream_access_token: spell(tokens.access, encoding),
        session: { id_token: spell(tokens.id, encoding), refresh: tokens.refresh },
        ...authorizationClaims(),
      },
      encoding,
    );
  },
};

/** The upstream's access token carries more than scope (always authorization claims). */
export const ACCESS_TOKEN_CLAIMS: Carrier = {
  name: 'access-token-claims',
  variants: ['authorization-claims', 'authorization-and-identity-claims'],
  shape: (variant) => ({ accessIdentity: variant === 'authorization-and-identity-claims' }),
};

/** The upstream's ID token carries authorization and identity claims and the full scope. */
export const ID_TOKEN_CLAIMS: Carrier = {
  name: 'id-token-claims',
  variants: ['wide'],
  shape: () => ({ wideIdToken: true }),
};

/** Userinfo (or introspection) answers about the user with every claim the upstream knows. */
export const CLAIMS_ANSWER: Carrier = {
  name: 'claims-answer',
  variants: BODY_ENCODINGS,
  arm: (variant) => (request, tokens) => {
    const encoding = variant as BodyEncoding;
    return jsonAnswer(
      200,
      {
        active: request.endpoint === 'introspection' ? true : undefined,
        sub: SUBJECT,
        ...identityClaims(),
        ...authorizationClaims(),
        client_id: request.clientId,
        upstream_token: spell(tokens.access, encoding),
      },
      encoding,
    );
  },
};

/** Static carriers: the discovery document's vendor fields, the JWKS. */
export const DOCUMENT_FIELDS: Carrier = { name: 'vendor-fields', variants: ['static'] };
