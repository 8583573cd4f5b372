/**
 * The public API, recorded: one API Extractor report per entry point of package.json's `exports`
 * (`latchkey`, `latchkey/adapter`, `latchkey/http`, `latchkey/testing`, each `latchkey/adapters/*`),
 * in `etc/<entry>.api.md`, read from the built declarations (`npm run build` first).
 *
 * `tsx scripts/api-report.ts` (CI, `npm run check:api`) fails when any report differs from the
 * checked-in one, or one is missing or stale, and rewrites nothing; `--local` (`npm run api:update`)
 * rewrites the reports, so a change to the surface is a visible diff in review. API Extractor
 * analyses one entry point per run, so this runs it once per entry.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig, ExtractorLogLevel, type IConfigFile } from '@microsoft/api-extractor';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '..'));
const reportFolder = join(root, 'etc');
const local = process.argv.includes('--local');

interface Manifest {
  exports: Record<string, string | null | { types?: string }>;
}

/** `[report name, declaration file]` for every entry point, wildcards expanded over the build. */
function entryPoints(): Array<[string, string]> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
  const entries: Array<[string, string]> = [];
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    // `./package.json` is a string; a `null` target (`./adapters/internal/*`) hides files from importers.
    const types = typeof target === 'string' || target === null ? undefined : target.types;
    if (!types) continue;
    const name = (stem: string) =>
      [
        'latchkey',
        ...stem
          .replace(/^\.\/?/, '')
          .split('/')
          .filter(Boolean),
      ].join('-');
    if (!subpath.includes('*')) {
      entries.push([name(subpath), join(root, types)]);
      continue;
    }
    const [before, after] = types.split('*') as [string, string];
    for (const file of readdirSync(join(root, before))
      .filter((f) => f.endsWith(after))
      .sort()) {
      const stem = file.slice(0, -after.length);
      entries.push([name(subpath.replace('*', stem)), join(root, before, file)]);
    }
  }
  return entries;
}

/** Reports that no entry point produces any more: a removed entry must leave no stale report. */
function staleReports(names: string[]): string[] {
  if (!existsSync(reportFolder)) return [];
  const expected = new Set(names.map((name) => `${name}.api.md`));
  return readdirSync(reportFolder).filter((file) => file.endsWith('.api.md') && !expected.has(file));
}

function configFor(name: string, declarations: string, temp: string): IConfigFile {
  return {
    projectFolder: root,
    mainEntryPointFilePath: declarations,
    newlineKind: 'lf',
    compiler: {
      overrideTsconfig: {
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: [declarations],
      },
    },
    apiReport: { enabled: true, reportFileName: `${name}.api.md`, reportFolder, reportTempFolder: temp },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      // Only a changed or missing report fails CI; the rest is noted in the report or is
      // typedoc's business (`npm run check:api-docs` checks the TSDoc).
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
      extractorMessageReporting: {
        default: { logLevel: ExtractorLogLevel.None, addToApiReportFile: true },
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
        'ae-unresolved-link': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
        // typedoc's validation already requires the documentation; here it would only add line numbers.
        'ae-undocumented': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
      },
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None, addToApiReportFile: false } },
    },
  };
}

const entries = entryPoints();
const temp = mkdtempSync(join(tmpdir(), 'latchkey-api-'));
const problems: string[] = [];
if (local) mkdirSync(reportFolder, { recursive: true });
try {
  for (const [name, declarations] of entries) {
    if (!existsSync(declarations)) {
      problems.push(`${declarations} is missing: run npm run build first`);
      continue;
    }
    const config = ExtractorConfig.prepare({
      configObject: configFor(name, declarations, temp),
      configObjectFullPath: join(root, 'api-extractor.json'),
      packageJsonFullPath: join(root, 'package.json'),
    });
    const result = Extractor.invoke(config, {
      localBuild: local,
      showVerboseMessages: false,
      printApiReportDiff: !local,
    });
    if (result.errorCount > 0)
      problems.push(`etc/${name}.api.md: API Extractor reported ${result.errorCount} error(s)`);
    else if (result.apiReportChanged && !local) problems.push(`etc/${name}.api.md differs from the public API`);
    else if (result.apiReportChanged) console.log(`updated etc/${name}.api.md`);
  }
  for (const file of staleReports(entries.map(([name]) => name))) {
    if (local) {
      rmSync(join(reportFolder, file));
      console.log(`removed etc/${file} (no such entry point)`);
    } else problems.push(`etc/${file} belongs to no entry point`);
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error('The public API changed: run `npm run api:update` and commit etc/ if the change is meant.');
  process.exitCode = 1;
} else if (!local) {
  console.log(`API reports match for ${entries.length} entry points.`);
}
