import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../proxy/scope/template.js';
import { upstreamScope } from '../../proxy/scope/upstream-scope.js';

const TEMPLATES = ['accounts.*.*', 'accounts.*', 'reports.*', 'read:claims'].map(compileTemplate);

describe('what scope the upstream is asked for', () => {
  it('sends nothing when nothing was requested, whatever the mode', () => {
    for (const mode of ['forward', 'omit', 'templates'] as const) {
      expect(upstreamScope(mode, undefined, TEMPLATES)).toBeUndefined();
    }
  });

  it('forwards the request as is, or omits it', () => {
    expect(upstreamScope('forward', ['accounts.read.1', 'x'], TEMPLATES)).toBe('accounts.read.1 x');
    expect(upstreamScope('omit', ['accounts.read.1'], TEMPLATES)).toBeUndefined();
  });

  it('asks for the covering templates, deduplicated, in request order', () => {
    expect(
      upstreamScope(
        'templates',
        ['reports.daily', 'accounts.read.1', 'accounts.list.2', 'reports.weekly'],
        TEMPLATES,
      ),
    ).toBe('reports.* accounts.*.* accounts.*');
    expect(upstreamScope('templates', ['accounts.read'], TEMPLATES)).toBe('accounts.*');
  });

  it('asks for a scope no template covers as it is', () => {
    expect(upstreamScope('templates', ['openid', 'read:claims', 'accounts'], TEMPLATES)).toBe(
      'openid read:claims accounts',
    );
  });

  it('asks for the templates that contain a requested template', () => {
    expect(upstreamScope('templates', ['accounts.read.*'], TEMPLATES)).toBe(
      'accounts.*.* accounts.*',
    );
    expect(upstreamScope('templates', ['accounts.*'], TEMPLATES)).toBe('accounts.*');
    // nothing configured contains it: asked as is, and the upstream decides
    expect(upstreamScope('templates', ['*'], TEMPLATES)).toBe('*');
    expect(upstreamScope('templates', ['reports.x*'], TEMPLATES)).toBe('reports.x*');
  });

  it('never asks for a wildcard-only template: it governs, it is not a scope', () => {
    const withCatchAll = [compileTemplate('*'), compileTemplate('*.*'), ...TEMPLATES];
    expect(upstreamScope('templates', ['accounts.read.1', 'openid'], withCatchAll)).toBe(
      'accounts.*.* accounts.* openid',
    );
    expect(upstreamScope('templates', ['accounts.*'], withCatchAll)).toBe('accounts.*');
  });
});
