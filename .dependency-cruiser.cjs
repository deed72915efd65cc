/**
 * Import rules, checked by `npm run lint` (dependency-cruiser): no import cycles, and imports that
 * point down the layers only. The layers, top to bottom, are the table in proxy/README.md
 * ("Layout"); test/docs/layout.test.ts keeps that table and this list equal.
 */
const LAYERS = [
  ['cli', '^proxy/cli(/|\\.ts$)'],
  ['demo', '^proxy/demo/'],
  ['server', '^proxy/server/'],
  ['endpoints', '^proxy/endpoints/'],
  ['relay', '^proxy/relay/'],
  ['issued', '^proxy/issued/'],
  ['runtime', '^proxy/runtime/'],
  ['upstream', '^proxy/upstream/'],
  ['keys', '^proxy/keys/'],
  ['observability', '^proxy/observability/'],
  ['config', '^config/(?!(defaults|duration)\\.ts$)'],
  ['rules', '^proxy/rules/'],
  ['scope', '^proxy/scope/'],
  ['http', '^proxy/http/'],
  ['config-base', '^config/(defaults|duration)\\.ts$'],
];

const layerRules = LAYERS.slice(1).map(([layer, path], index) => ({
  name: `layer-${layer}`,
  comment: `${layer} imports only the layers below it`,
  severity: 'error',
  from: { path },
  to: {
    path: LAYERS.slice(0, index + 1)
      .map(([, above]) => `(${above})`)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: one of the modules must move down, or a shared part out',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'node-http-through-require',
      comment:
        "node:http is loaded through proxy/http/node-http.ts (an ES module import of it loads Node.js's bundled undici); type-only imports are fine",
      severity: 'error',
      from: { pathNot: '^proxy/http/node-http\\.ts$' },
      to: { path: '^(node:)?http$', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|test)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
