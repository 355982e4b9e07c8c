// Two runs of the quick experiment in one folder, as a new user makes them: the second run's dashboard shows only its
// own epochs and decisions (the data endpoint: epochs 1..N once each), and the first run is listed and selectable by
// id — over HTTP, and in the page in headless Chromium when it is installed.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, haveChromium as chromiumInstalled, launchChromium } from './helpers/browser.ts';
import { resolveConfig } from '../cli/config.ts';
import { SECRET_ENV_VAR } from '../contracts/signing.ts';
import { startWeatherlight } from '../actors/weatherlight/weatherlight.ts';
import type { RunResult } from '../actors/tolaria/index.ts';
import type { DashboardData } from '../actors/nissa/dashboard-data.ts';
import { freePort } from './helpers/redis-server.ts';

const QUICK = fileURLToPath(new URL('../experiments/quick.ts', import.meta.url));

interface Dashboard extends DashboardData {
  charts: { loss: string; accuracy: string; alpha: string };
}

async function get(url: string): Promise<{ status: number; body: Dashboard }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Dashboard };
}

const epochsUpTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

test('a second run in the same folder: its dashboard shows only its own epochs; the first run is selectable by id', async (t) => {
  t.timeout(300_000, 'two quick runs on a loaded machine');
  const { config: quick } = await resolveConfig(QUICK);
  const varDir = mkdtempSync(join(tmpdir(), 'esper-dash-runs-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  /** Runs the quick experiment for `epochs` as run `id` in `varDir`; `whileUp` sees the tree after training, before shutdown. */
  const run = async (id: string, epochs: number, whileUp: () => Promise<void>): Promise<void> => {
    const config = {
      ...quick,
      run: { ...quick.run, varDir },
      tolaria: { ...quick.tolaria, epochs },
      nissa: { ...quick.nissa, port },
    };
    let finished!: (result: RunResult) => void;
    const done = new Promise<RunResult>((resolve) => (finished = resolve));
    const wl = await startWeatherlight(config, {
      env: { [SECRET_ENV_VAR]: 'dashboard-runs-secret' },
      run: { dir: join(varDir, 'runs', id) },
      training: { finished },
    });
    try {
      t.is(wl.run?.id, id, 'the folder names the run');
      t.is((await done).status, 'completed');
      await whileUp();
    } finally {
      await wl.shutdown();
    }
  };

  const [first, second] = ['first', 'second'];
  await run(first, 5, async () => {
    const { body } = await get(`${base}/api/dashboard`);
    t.is(body.run, first);
    t.deepEqual(
      body.training.map((p) => p.epoch),
      epochsUpTo(5),
    );
  });
  await run(second, 3, async () => {
    const { status, body } = await get(`${base}/api/dashboard`);
    t.is(status, 200);
    t.is(body.run, second, 'the current run by default');
    t.deepEqual(
      body.training.map((p) => p.epoch),
      epochsUpTo(3),
      'epochs 1..3 once each, none of the first run',
    );
    t.deepEqual(
      body.decisions.map((d) => d.epoch),
      epochsUpTo(3),
    );
    t.regex(body.charts.loss, /data-series="train loss" data-points="3"/);
    t.deepEqual(
      body.runs.map((r) => [r.id, r.current]),
      [
        [second, true],
        [first, false],
      ],
    );

    const earlier = await get(`${base}/api/dashboard?run=${encodeURIComponent(first)}`);
    t.is(earlier.body.run, first);
    t.deepEqual(
      earlier.body.training.map((p) => p.epoch),
      epochsUpTo(5),
    );
    t.is((await get(`${base}/api/dashboard?run=no-such-run`)).status, 404);

    if (!chromiumInstalled()) return t.log(`${CHROMIUM} not found: the page itself is not checked`);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.waitForFunction(
        (id) => document.querySelector('#training-legend')?.textContent === `3 epochs of run ${id}`,
        second,
        { timeout: 30_000 },
      );
      t.is(await page.getAttribute('[data-series="train loss"]', 'data-points'), '3');
      t.is(await page.textContent('#run-title'), `run ${second}`);
      await page.selectOption('#run', first);
      await page.waitForFunction(
        (id) => document.querySelector('#training-legend')?.textContent === `5 epochs of run ${id}`,
        first,
        { timeout: 30_000 },
      );
      t.is(await page.getAttribute('[data-series="train loss"]', 'data-points'), '5');
      t.is(new URL(page.url()).searchParams.get('run'), first, 'the choice is in the address');
    } finally {
      await browser.close();
    }
  });
});
