// report.html from a realistic synthetic result (test/chaos/report-fixture.ts): the page is built
// offline (no request leaves the file), every chart is drawn by the inlined vega-embed with marks,
// the verdict table is there and its evidence links land on history rows. The page is opened in
// Debian's headless Chromium; without /usr/bin/chromium the browser test is skipped (CI installs it).
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { loadChartLibraries, reportHtml } from '../../src/chaos/experiment/report-html.js';
import { writeReport } from '../../src/chaos/experiment/report.js';
import { syntheticResult } from './report-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const chromiumInstalled = existsSync(CHROMIUM);
if (!chromiumInstalled) console.warn(`report-html.test: ${CHROMIUM} not found, the browser test is skipped (install Debian's chromium: apt-get install chromium)`);
// CI installs chromium (.ci/run), so a missing browser there is a failure, not a skip.
const browserTest = chromiumInstalled || process.env['CI'] !== undefined ? test : test.skip;

const CHARTS = ['timeline', 'http-latency', 'http-throughput', 'api-throughput', 'api-latency', 'errors', 'etcd-term', 'etcd-leader', 'leases', 'pods'];

function written(t: { teardown: (fn: () => void) => void }): { html: string; file: string; result: ReturnType<typeof syntheticResult> } {
  const out = mkdtempSync(join(tmpdir(), 'pk-report-html-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const result = syntheticResult();
  const files = writeReport(out, result);
  const file = join(out, 'report.html');
  if (!files.includes(file)) throw new Error(`writeReport did not list report.html: ${files.join(', ')}`);
  return { html: readFileSync(file, 'utf8'), file, result };
}

test('report.html is self-contained: the libraries inlined, no external script or stylesheet, markup in the data escaped, every evidence link has its target', (t) => {
  const { html, result } = written(t);
  t.is(result.verdict.results.find((v) => v.name === 'acked-writes-present')?.status, 'fail', 'the fixture loses a write');
  t.is(result.verdict.results.find((v) => v.name === 'service-availability')?.status, 'fail', 'the fixture drops requests');
  t.notRegex(html, /<script[^>]+src=/i);
  t.notRegex(html, /<link[^>]+href=/i);
  t.regex(html, /vegaEmbed/);
  // The error text '</script><script>…' appears only escaped: as HTML text in the table, as \u003c in the JSON.
  t.false(html.includes('</script><script>window.injected'));
  t.true(html.includes('socket hang up &#60;/script&#62;'));
  const ids = new Set([...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!));
  const hrefs = [...html.matchAll(/ href="#([^"]+)"/g)].map((m) => m[1]!);
  t.true(hrefs.length > 20);
  for (const h of hrefs) t.true(ids.has(h), `#${h} has no target`);
  // Failing evidence names operations, and they link to their history rows.
  const opLinks = [...html.matchAll(/class="op-link" href="#op-(\d+)"/g)].map((m) => Number(m[1]));
  t.true(opLinks.length >= 2, `${opLinks.length} operation links`);
  for (const i of opLinks) t.is(result.history[i]!.type, 'invoke');
});

test('a history longer than the table keeps the rows the evidence names and the API operations, drops answered requests, and says so', (t) => {
  const base = syntheticResult();
  // 40,000 more answered requests after the run's own history: far past the table's 30,000 rows.
  const extra = Array.from({ length: 20_000 }, (_, i) => [
    { process: 'http:default/nginx-0', type: 'invoke', f: 'read', key: 'http:default/nginx', value: null, time: 20_000 + i },
    { process: 'http:default/nginx-0', type: 'ok', f: 'read', key: 'http:default/nginx', value: 200, time: 20_000 + i + 0.5 },
  ] as const).flat();
  const result = { ...base, history: [...base.history, ...extra] };
  const html = reportHtml(result, loadChartLibraries());
  const rows = [...html.matchAll(/<tr id="op-(\d+)"/g)].map((m) => Number(m[1]));
  t.is(rows.length, 30_000);
  t.regex(html, new RegExp(`The table keeps 30000 of the ${result.history.length} rows`));
  const kept = new Set(rows);
  for (const m of html.matchAll(/class="op-link" href="#op-(\d+)"/g)) t.true(kept.has(Number(m[1])), `op ${m[1]} named by evidence is kept`);
  const api = result.history.flatMap((op, i) => (String(op.process).startsWith('api') ? [i] : []));
  t.true(api.length > 0 && api.every((i) => kept.has(i)), 'every API operation is kept');
  t.false(kept.has(result.history.length - 1), 'the last answered request is dropped');
});

browserTest('report.html renders in headless Chromium offline: every chart drawn with marks, no console error or warning nor page error, verdict rows and evidence links resolve', async (t) => {
  const { file, result } = written(t);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const external: string[] = [];
  // Vega-Lite warns (console.warn) about a spec it had to guess at: that counts too.
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href);
  const outcomes = await page.evaluate(async () => (globalThis as unknown as { reportReady: Promise<string[]> }).reportReady);
  t.deepEqual(outcomes, CHARTS.map(() => 'ok'), errors.join('\n'));
  t.deepEqual(errors, []);
  t.deepEqual(external, []);
  t.is(await page.evaluate(() => (globalThis as unknown as { injected?: number }).injected), undefined);
  for (const id of CHARTS) {
    // The data layer's marks (named "data" in every spec), not only axes and the fault shading.
    const marks = await page.locator(`#chart-${id} svg .data_marks > *`).count();
    t.true(marks > 0, `chart ${id}: ${marks} data marks`);
  }
  t.is(await page.locator('#verdict-table tr.verdict-row').count(), result.verdict.results.length);
  const firstOp = page.locator('a.op-link').first();
  const target = (await firstOp.getAttribute('href'))!;
  await firstOp.click();
  t.is(await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash), target);
  t.is(await page.locator(`${target}:target`).count(), 1);
  t.true(await page.locator(target).isVisible());
  for (const href of await page.locator('a.window-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')!))) {
    t.is(await page.locator(href).count(), 1, `${href} resolves`);
  }
});
