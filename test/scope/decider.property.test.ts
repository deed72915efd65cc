/**
 * Invariants of the scope decision, over random grants, requests, policies and contexts:
 * - every issued scope is covered by a granted one (checked with an independent oracle);
 * - the outcome does not depend on the order of the scopes;
 * - narrowing an already narrowed set changes nothing;
 * - policies only remove;
 * - an issued template gives nothing its instances, requested one by one, would not get.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScopePolicyConfig } from '../../config/schema.js';
import { type DecisionInput, ScopeDecider, type ScopeVerdict } from '../../proxy/scope/decider.js';
import { ScopePolicies } from '../../proxy/scope/policies.js';

const VALUES = ['a', 'b', 'read', '1'];
/** Segments of scopes: values, wildcards, a star inside a segment, and (rarely) an empty one. */
const segmentArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...VALUES) },
  { weight: 3, arbitrary: fc.constant('*') },
  { weight: 1, arbitrary: fc.constantFrom('x*', '') },
);
const scopeArb = fc
  .array(segmentArb, { minLength: 1, maxLength: 3 })
  .map((segments) => segments.join('.'))
  .filter((scope) => scope !== '');
const scopesArb = fc.array(scopeArb, { maxLength: 8 });

const templateArb = fc
  .array(fc.constantFrom(...VALUES, '*'), { minLength: 1, maxLength: 3 })
  .map((segments) => segments.join('.'));

const policyArb: fc.Arbitrary<ScopePolicyConfig> = templateArb.chain((template) => {
  const wildcards = template.split('.').filter((segment) => segment === '*').length;
  const validatorArb = fc.oneof(
    fc.record({ enum: fc.subarray(VALUES, { minLength: 1 }) }),
    fc.record({ pattern: fc.constantFrom('[a-z]+', '[0-9]', 'read|a') }),
    fc.record({ claim: fc.constantFrom('tenants', 'org') }),
  );
  return fc.record(
    {
      template: fc.constant(template),
      grant_types: fc.subarray(['client_credentials', 'authorization_code'] as const, {
        minLength: 1,
      }),
      clients: fc.subarray(['c1', 'c2'], { minLength: 1 }),
      params: fc.array(validatorArb, { maxLength: wildcards }),
    },
    { requiredKeys: ['template'] },
  );
});

const contextArb = fc.record({
  clientId: fc.constantFrom('c1', 'c2', undefined),
  grantType: fc.constantFrom('client_credentials', 'authorization_code'),
  audience: fc.constant(['https://api.example.com']),
  claims: fc.record({
    tenants: fc.subarray(VALUES),
    org: fc.constantFrom(...VALUES),
  }),
});

const inputArb = fc.record({
  granted: scopesArb,
  requested: fc.option(scopesArb, { nil: undefined }),
  context: contextArb,
  policies: fc.array(policyArb, { maxLength: 4 }),
});

type Generated = {
  granted: string[];
  requested: string[] | undefined;
  context: Omit<DecisionInput, 'granted' | 'requested'>;
  policies: ScopePolicyConfig[];
};

function decide(generated: Generated, over: Partial<DecisionInput> = {}) {
  return new ScopeDecider(new ScopePolicies(generated.policies)).decide({
    ...generated.context,
    granted: generated.granted,
    requested: generated.requested,
    ...over,
  });
}

// An independent oracle: templates as regular expressions, containment by enumeration.
function isTemplate(scope: string): boolean {
  const segments = scope.split('.');
  return (
    segments.includes('*') &&
    segments.every((segment) => segment !== '' && (segment === '*' || !segment.includes('*')))
  );
}

function regexOf(template: string): RegExp {
  const segments = template.split('.');
  const body = segments.map((segment, index) => {
    if (segment !== '*') return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return index === segments.length - 1 ? '[^.]+(?:\\.[^.]+)*' : '[^.]+';
  });
  return new RegExp(`^${body.join('\\.')}$`);
}

const UNIVERSE = (() => {
  const values = [...VALUES, 'fresh'];
  let level = [''];
  const out: string[] = [];
  for (let length = 1; length <= 4; length++) {
    level = level.flatMap((prefix) =>
      values.map((value) => (prefix ? `${prefix}.${value}` : value)),
    );
    out.push(...level);
  }
  return out;
})();

function coveredByOracle(scope: string, granted: readonly string[]): boolean {
  if (granted.includes(scope)) return true;
  const templates = granted.filter(isTemplate).map(regexOf);
  if (!scope.includes('*')) return templates.some((template) => template.test(scope));
  if (!isTemplate(scope)) return false;
  const instances = UNIVERSE.filter((candidate) => regexOf(scope).test(candidate));
  return templates.some((template) => instances.every((instance) => template.test(instance)));
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed || 1;
  for (let index = out.length - 1; index > 0; index--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const other = state % (index + 1);
    [out[index], out[other]] = [out[other] as T, out[index] as T];
  }
  return out;
}

const byScope = (verdicts: readonly ScopeVerdict[]) =>
  [...verdicts].sort((a, b) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0));

describe('scope decision invariants', () => {
  it('issues only scopes a granted scope covers', () => {
    fc.assert(
      fc.property(inputArb, (generated) => {
        const decision = decide(generated);
        for (const scope of decision.issued) {
          expect(coveredByOracle(scope, generated.granted), scope).toBe(true);
        }
        // and refuses, as not granted, exactly what the oracle says nothing covers
        for (const verdict of decision.verdicts) {
          expect(verdict.reason === 'not_granted').toBe(
            !coveredByOracle(verdict.scope, generated.granted),
          );
        }
      }),
      { numRuns: 400 },
    );
  });

  it('does not depend on the order of the scopes', () => {
    fc.assert(
      fc.property(inputArb, fc.integer({ min: 1, max: 1_000_000 }), (generated, seed) => {
        const first = decide(generated);
        const second = decide(generated, {
          granted: shuffled(generated.granted, seed),
          requested: generated.requested && shuffled(generated.requested, seed + 1),
        });
        expect(new Set(second.issued)).toEqual(new Set(first.issued));
        expect(byScope(second.verdicts)).toEqual(byScope(first.verdicts));
      }),
      { numRuns: 300 },
    );
  });

  it('changes nothing when an already narrowed set is narrowed again', () => {
    fc.assert(
      fc.property(inputArb, (generated) => {
        const issued = [...decide(generated).issued];
        // the same grant, asked for exactly what was issued
        const again = decide(generated, { requested: issued });
        expect(again.issued).toEqual(issued);
        expect(again.refused).toEqual([]);
        // the narrowed token as the grant (e.g. exchanged again), with or without a request
        expect(decide(generated, { granted: issued, requested: issued }).issued).toEqual(issued);
        expect(decide(generated, { granted: issued, requested: undefined }).issued).toEqual(issued);
      }),
      { numRuns: 300 },
    );
  });

  it('lets policies only remove', () => {
    fc.assert(
      fc.property(inputArb, policyArb, (generated, extra) => {
        const without = new Set(decide({ ...generated, policies: [] }).issued);
        const withPolicies = decide(generated).issued;
        const withMore = decide({ ...generated, policies: [...generated.policies, extra] }).issued;
        for (const scope of withPolicies) expect(without.has(scope)).toBe(true);
        for (const scope of withMore) expect(withPolicies).toContain(scope);
      }),
      { numRuns: 300 },
    );
  });
  it('issues a template only when every instance of it would be issued on its own', () => {
    fc.assert(
      fc.property(inputArb, (generated) => {
        for (const scope of decide(generated).issued) {
          if (!isTemplate(scope)) continue;
          const pattern = regexOf(scope);
          for (const instance of UNIVERSE.filter((candidate) => pattern.test(candidate))) {
            expect(decide(generated, { requested: [instance] }).issued, instance).toEqual([
              instance,
            ]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
