import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport } from '../../src/report/index.ts';
import { HOSTILE_LAYER, makeRunFixture } from './fixtures.ts';
import { decodePng, distinctColors, isPng } from './png.ts';

const fixture = makeRunFixture();
const written = writeReport(fixture.dir);
const page = readFileSync(written.html, 'utf8');
after(() => fixture.cleanup());

test('the report files are written next to the runs', () => {
  assert.equal(written.html, join(fixture.dir, 'report.html'));
  assert.equal(written.markdown, join(fixture.dir, 'report.md'));
  assert.equal(written.runs, 7);
  const md = readFileSync(written.markdown, 'utf8');
  assert.match(md, /\| bits \| RTN acc \(%\) \| RTN drop \(pp\) \| GPFQ acc \(%\) \| GPFQ drop \(pp\) \|/);
  assert.match(md, /\| 2 \| 42\.00 \| 35\.50 \| 70\.00 \| 7\.50 \|/);
  assert.match(md, /## Training: qat-w4a4 \(qat W4A4\)/);
  assert.match(md, /## Layer widths chosen by the channel search: nce-search/);
  assert.match(md, /\| 1 \| 16 \| 10 \| 63% \|/);
});

test('the page is self-contained: no scripts, links, fonts or URLs', () => {
  assert.doesNotMatch(page, /https?:|\/\/[a-z]/i, 'no absolute or protocol-relative URLs');
  assert.doesNotMatch(page, /<script|<link|<img|<iframe|<object|@import|url\(|@font-face|\ssrc=/i);
  for (const href of page.matchAll(/href="([^"]*)"/g)) assert.match(href[1], /^#[\w-]+$/, `in-page anchors only, got ${href[1]}`);
});

test('data text is escaped in the page', () => {
  assert.ok(!page.includes(HOSTILE_LAYER));
  assert.ok(page.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;'));
});

test('the page has every plot: accuracy, per-layer error, histograms, curves, widths', () => {
  const titles = [...page.matchAll(/<svg [^>]*aria-label="([^"]*)"/g)].map((m) => m[1]);
  assert.ok(titles.includes('Test accuracy vs weight bits'));
  assert.ok(titles.includes('Per-layer relative error, W2') && titles.includes('Per-layer relative error, W4'));
  assert.ok(titles.includes('3: float weights') && titles.includes('3: RTN W2') && titles.includes('3: GPFQ W2'));
  assert.equal(titles.filter((t) => t === 'Loss per epoch').length, 3, 'float, QAT and NCE runs');
  assert.ok(titles.includes('Layer widths: architecture vs searched'));
  // Four 2-bit levels marked on each of the three histograms of layer 3.
  assert.equal(page.split('class="level"').length - 1, 12);
});

const CHROMIUM = ['chromium', 'chromium-browser'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);

function chromium(args: string[], profile: string) {
  const r = spawnSync(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', `--user-data-dir=${profile}`, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  assert.equal(r.error, undefined, `chromium did not run: ${r.error?.message}`);
  assert.equal(r.status, 0, `chromium failed: ${r.stderr}`);
  return r;
}

test('headless Chromium renders the page: every SVG plot is drawn, non-empty, and the screenshot is not blank', { timeout: 300_000 }, () => {
  assert.ok(CHROMIUM, "chromium is not installed: run scripts/setup.sh (it installs Debian's chromium), or apt-get install chromium");
  const tmp = mkdtempSync(join(tmpdir(), 'lowbit-report-chromium-'));
  try {
    // The report has no script; a copy gets one that measures the rendered plots into the DOM for --dump-dom.
    const probe = `<script>
      const svgs = [...document.querySelectorAll('svg')].map((s) => {
        const box = s.getBoundingClientRect();
        return { label: s.getAttribute('aria-label'), width: box.width, height: box.height, marks: s.querySelectorAll('path, rect, circle').length };
      });
      const pre = document.createElement('pre');
      pre.id = 'svg-check';
      pre.textContent = JSON.stringify(svgs);
      document.body.appendChild(pre);
    </script>`;
    const probed = join(tmp, 'probed.html');
    writeFileSync(probed, page.replace('</body>', `${probe}</body>`));
    const dom = chromium(['--dump-dom', `file://${probed}`], join(tmp, 'profile-1')).stdout;
    const json = /<pre id="svg-check">([^<]*)<\/pre>/.exec(dom)?.[1];
    assert.ok(json, 'the probe ran and wrote its result');
    const svgs = JSON.parse(json.replace(/&amp;/g, '&')) as { label: string; width: number; height: number; marks: number }[];
    assert.equal(svgs.length, (page.match(/<svg /g) ?? []).length);
    assert.ok(svgs.length >= 12, `expected at least 12 plots, got ${svgs.length}`);
    for (const s of svgs) {
      assert.ok(s.width > 100 && s.height > 100, `plot '${s.label}' rendered at ${s.width}x${s.height}`);
      assert.ok(s.marks > 0, `plot '${s.label}' has no path, rect or circle`);
    }

    const shot = join(tmp, 'report.png');
    chromium([`--screenshot=${shot}`, '--window-size=1280,2400', `file://${written.html}`], join(tmp, 'profile-2'));
    assert.ok(existsSync(shot), 'chromium wrote the screenshot');
    const bytes = readFileSync(shot);
    assert.ok(isPng(bytes), 'the screenshot is a PNG');
    const png = decodePng(bytes);
    assert.deepEqual([png.width, png.height], [1280, 2400]);
    // Plots in several colours on a light page: far more than one colour.
    assert.ok(distinctColors(png) > 20, `the screenshot has only ${distinctColors(png)} colours`);
  } finally {
    rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }); // Chromium helpers may still be writing its profile
  }
});
