// The live dashboard in headless Chromium (Debian's chromium, driven by playwright-core) during a short run: the
// page shows the training curves growing, the decisions and the supervision tree, from a real tree's telemetry
// through the bus.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, haveChromium as chromiumInstalled, launchChromium } from './helpers/browser.ts';
import defaults from '../esper.config.ts';
import { SECRET_ENV_VAR } from '../contracts/signing.ts';
import { startWeatherlight } from '../actors/weatherlight/weatherlight.ts';
import type { EsperConfig } from '../actors/weatherlight/esper-config.ts';
import { freePort } from './helpers/redis-server.ts';

const haveChromium = chromiumInstalled();
if (!haveChromium && process.env.CI === 'true')
  throw new Error(`${CHROMIUM} is required under CI=true (apt-get install chromium)`);
if (!haveChromium) console.warn(`NOTICE: ${CHROMIUM} not found: the dashboard browser test is skipped`);

(haveChromium ? test : test.skip)(
  'the dashboard shows live training curves and the supervision tree during a run',
  async (t) => {
    t.timeout(120_000);
    const port = await freePort();
    const config: EsperConfig = {
      ...defaults,
      run: { ...defaults.run, varDir: mkdtempSync(join(tmpdir(), 'esper-dash-')) },
      weatherlight: { ...defaults.weatherlight, healthIntervalMs: 200 },
      tolaria: {
        experiment: 'spirals',
        dataset: { kind: 'spirals' },
        optimizer: { kind: 'adam', learningRate: 0.01 },
        epochs: 500,
        control: { hookBudgetMs: 10_000 },
      },
      nissa: { port },
    };
    let epochs = 0;
    const wl = await startWeatherlight(config, {
      env: { [SECRET_ENV_VAR]: 'dashboard-secret' },
      training: {
        epoch: () => {
          epochs += 1;
        },
        finished: () => undefined,
      },
    });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      const points = () =>
        page.evaluate(() =>
          Number(document.querySelector('[data-series="train loss"]')?.getAttribute('data-points') ?? 0),
        );
      await page.waitForFunction(
        () => Number(document.querySelector('[data-series="train loss"]')?.getAttribute('data-points') ?? 0) >= 3,
        undefined,
        { timeout: 60_000 },
      );
      const first = await points();
      t.true(epochs < 500, 'seen while the run is going');
      // Live: the page polls, and the curve grows as epochs end (no reload).
      await page.waitForFunction(
        (seen) => Number(document.querySelector('[data-series="train loss"]')?.getAttribute('data-points') ?? 0) > seen,
        first,
        { timeout: 60_000 },
      );
      t.true((await points()) > first);
      await page.waitForSelector('tr[data-actor="/weatherlight/tolaria/trainer"]', { timeout: 30_000 });
      t.regex((await page.textContent('#tree')) ?? '', /\/weatherlight\/nissa\/ingest\s*running/);
      t.regex((await page.textContent('#alerts')) ?? '', /no active alerts|fired|resolved/);
      t.regex((await page.textContent('#training-legend')) ?? '', /\d+ epochs/);
      t.regex(
        (await page.textContent('#decisions')) ?? '',
        /epoch \d+\s*(hold \(|germinate|pause|learning rate)/,
        "Tamiyo's decisions, as the progress line says them",
      );
    } finally {
      await browser.close();
      await wl.shutdown();
    }
  },
);
