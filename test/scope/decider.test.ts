import { describe, expect, it } from 'vitest';
import type { ScopePolicyConfig } from '../../config/schema.js';
import { type DecisionInput, ScopeDecider } from '../../proxy/scope/decider.js';
import { ScopePolicies } from '../../proxy/scope/policies.js';

function decider(...configs: ScopePolicyConfig[]): ScopeDecider {
  return new ScopeDecider(new ScopePolicies(configs));
}

function input(granted: string, requested: string | undefined, over: Partial<DecisionInput> = {}) {
  return {
    granted: granted.split(' ').filter(Boolean),
    requested: requested === undefined ? undefined : requested.split(' ').filter(Boolean),
    clientId: 'partner-x',
    grantType: 'client_credentials',
    audience: ['https://api.example.com'],
    claims: {},
    ...over,
  } satisfies DecisionInput;
}

const plain = decider();

describe('grants by template', () => {
  it('issues the concrete scope a granted template covers, never the template', () => {
    const decision = plain.decide(input('accounts.* read:claims', 'accounts.read.1234'));
    expect(decision.issued).toEqual(['accounts.read.1234']);
    expect(decision.verdicts[0]).toMatchObject({
      scope: 'accounts.read.1234',
      allowed: true,
      coveredBy: 'accounts.*',
      params: ['read.1234'],
    });
  });

  it('issues the template when the template itself is requested', () => {
    expect(plain.decide(input('accounts.*', 'accounts.*')).issued).toEqual(['accounts.*']);
  });

  it('issues every granted scope, templates included, when nothing is requested', () => {
    const decision = plain.decide(input('accounts.* read:claims', undefined));
    expect(decision.issued).toEqual(['accounts.*', 'read:claims']);
    expect(decision.refused).toEqual([]);
  });

  it('refuses requested scopes nothing granted covers', () => {
    const decision = plain.decide(
      input('accounts.read.* read:claims', 'accounts.read.1 accounts.write.1 read:claims.x'),
    );
    expect(decision.issued).toEqual(['accounts.read.1']);
    expect(decision.refused.map((verdict) => [verdict.scope, verdict.reason])).toEqual([
      ['accounts.write.1', 'not_granted'],
      ['read:claims.x', 'not_granted'],
    ]);
  });

  it('matches scopes with `:` only exactly', () => {
    const decision = plain.decide(input('read:claims', 'read:claims read:claims2 read:*'));
    expect(decision.issued).toEqual(['read:claims']);
  });

  it('collapses repeated scopes', () => {
    const decision = plain.decide(
      input('accounts.* accounts.*', 'accounts.a accounts.a accounts.b'),
    );
    expect(decision.issued).toEqual(['accounts.a', 'accounts.b']);
    expect(decision.verdicts).toHaveLength(2);
    expect(plain.decide(input('x x y', undefined)).issued).toEqual(['x', 'y']);
  });

  it('handles very long scopes', () => {
    const long = `accounts.read.${'7'.repeat(20_000)}`;
    expect(plain.decide(input('accounts.*.*', long)).issued).toEqual([long]);
    expect(
      plain.decide(input('accounts.*.bar', `accounts.${'x.'.repeat(5000)}bar`)).issued,
    ).toEqual([]);
  });

  it('explains with the most specific grant, whatever the upstream order', () => {
    for (const granted of ['* accounts.* accounts.read.*', 'accounts.read.* * accounts.*']) {
      const verdict = plain.decide(input(granted, 'accounts.read.1')).verdicts[0];
      expect(verdict).toMatchObject({ coveredBy: 'accounts.read.*', params: ['1'] });
    }
    expect(
      plain.decide(input('accounts.* accounts.read.1', 'accounts.read.1')).verdicts[0],
    ).toMatchObject({ coveredBy: 'accounts.read.1', params: [] });
  });
});

describe('no escalation through wildcards', () => {
  it.each([
    // a requested template broader than the granted one
    ['accounts.*.*', 'accounts.*'],
    ['accounts.read.*', 'accounts.*'],
    ['accounts.*.bar', 'accounts.*'],
    ['accounts.*.bar', 'accounts.*.*'],
    ['accounts.*', '*'],
    ['accounts.*.own', 'accounts.*.*'],
    ['accounts.read.*', 'accounts.*.own'],
    // stars that are not whole segments are opaque names: only an identical grant covers them
    ['accounts.*', 'accounts.re*'],
    ['accounts.*', 'accounts.read.1*'],
    ['*', 'acc*'],
    ['accounts.*.*', 'accounts.*.x*'],
    // a concrete grant never covers a template, or anything longer
    ['accounts.read', 'accounts.*'],
    ['accounts.read', 'accounts.read.*'],
    ['accounts', 'accounts.read'],
    // empty segments are not instances of a template
    ['accounts.*', 'accounts..read'],
    ['accounts.*', 'accounts.'],
    ['*', '.x'],
  ])('granted %s, requested %s: refused', (granted, requested) => {
    const decision = plain.decide(input(granted, requested));
    expect(decision.issued).toEqual([]);
    expect(decision.refused[0]?.reason).toBe('not_granted');
  });

  it.each([
    ['accounts.*', 'accounts.*.*'],
    ['accounts.*', 'accounts.read.*'],
    ['accounts.*.*', 'accounts.read.*'],
    ['accounts.*.bar', 'accounts.x.bar'],
    ['*', 'accounts.*'],
    ['acc*', 'acc*'],
    ['accounts.*', 'accounts.*'],
  ])(
    'granted %s, requested %s: a narrower (or the same) template is covered',
    (granted, requested) => {
      expect(plain.decide(input(granted, requested)).issued).toEqual([requested]);
    },
  );

  it('does not let a malformed granted value act as a template', () => {
    expect(plain.decide(input('acc*', 'accounts')).issued).toEqual([]);
    expect(plain.decide(input('accounts..*', 'accounts.x.y')).issued).toEqual([]);
  });
});

describe('policies in decisions', () => {
  const governed = decider(
    {
      template: 'accounts.*.*',
      grant_types: ['client_credentials'],
      params: [{ enum: ['read', 'list'] }, { pattern: '[0-9]{1,12}' }],
    },
    { template: 'admin.*', clients: ['ops'] },
  );

  it('refuses a covered scope that fails a policy, with the reason', () => {
    const decision = governed.decide(input('accounts.*', 'accounts.read.1 accounts.write.1'));
    expect(decision.issued).toEqual(['accounts.read.1']);
    expect(decision.refused[0]).toMatchObject({ scope: 'accounts.write.1', reason: 'policy' });
    expect(decision.refused[0]?.detail).toContain('params[0].enum');
  });

  it('refuses the same scope for an authorization-code token', () => {
    const decision = governed.decide(
      input('accounts.*', 'accounts.read.1', { grantType: 'authorization_code' }),
    );
    expect(decision.issued).toEqual([]);
    expect(decision.refused[0]?.detail).toContain('grant type authorization_code is not allowed');
  });

  it('withholds, not refuses, policy-failing grants when nothing was requested', () => {
    const decision = governed.decide(input('accounts.* admin.* reports.read', undefined));
    expect(decision.issued).toEqual(['reports.read']);
    expect(decision.refused).toEqual([]);
    expect(decision.withheld.map((verdict) => verdict.scope)).toEqual(['accounts.*', 'admin.*']);
  });

  it('never issues what the upstream did not grant, whatever the policies allow', () => {
    const decision = governed.decide(input('reports.read', 'admin.x', { clientId: 'ops' }));
    expect(decision.issued).toEqual([]);
    expect(decision.refused[0]?.reason).toBe('not_granted');
  });
});
