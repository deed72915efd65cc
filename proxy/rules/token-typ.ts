/**
 * The `typ` header values an access token can carry: RFC 9068's `at+jwt` (the default), `JWT`
 * for verifiers that refuse anything else, or none at all (`none`: the header has no `typ`).
 */
export const TOKEN_TYPS = ['at+jwt', 'JWT', 'none'] as const;
export type TokenTyp = (typeof TOKEN_TYPS)[number];
