/**
 * Browser tests against the real server extension and its embedded o16n server (#13): what a new
 * user does, clicking as they would. Skipped when /o16n/status does not answer.
 *
 * The tests of the first group run in order and share the services they publish; the restart test
 * runs a JupyterLab of its own (port 8890) that it stops and starts again.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Browser, Page } from '@playwright/test';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const TRAIN = [
  'from sklearn import datasets, svm',
  'iris = datasets.load_iris()',
  'clf = svm.SVC().fit(iris.data, iris.target)',
  'names = iris.target_names.tolist()'
].join('\n');
const SERVICE_CODE = 'iris_type = names[int(clf.predict([flower_data])[0])]';
const PREDICT = [
  'def predict(sepal_length: float, sepal_width: float, petal_length: float, petal_width: float) -> str:',
  '    """The Iris variety of a flower."""',
  '    return names[int(clf.predict([[sepal_length, sepal_width, petal_length, petal_width]])[0])]'
].join('\n');
const VARIETY = /setosa|versicolor|virginica/;
const stamp = Date.now() % 100000;
const CELL_SERVICE = `IrisCell${stamp}`;
const FUNCTION_SERVICE = `IrisFn${stamp}`;

async function skipWithoutServer(page: IJupyterLabPageFixture, baseURL: string | undefined): Promise<void> {
  const status = await page.request.get(`${baseURL}/o16n/status`).catch(() => null);
  test.skip(!status || !status.ok(), 'the o16n Jupyter server extension is not installed or does not answer');
}

async function openPublishPanel(page: Page) {
  await page.locator('.jp-NotebookPanel-toolbar [data-command="o16n:publish"]').click();
  const panel = page.locator('#o16n-publish');
  await expect(panel).toBeVisible();
  return panel;
}

function consumeOutput(page: Page, cell: number) {
  return page.locator('.jp-Notebook .jp-Cell').nth(cell).locator('.o16n-mime-result');
}

test.describe('against the real server extension', () => {
  test.describe.configure({ mode: 'serial' });
  test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });
  test.setTimeout(600000);

  test.afterAll(async ({ request, baseURL }) => {
    const all = (await (await request.get(`${baseURL}/o16n/services`).catch(() => null))?.json().catch(() => [])) ?? [];
    for (const s of all as { name: string; version: string }[]) {
      if (s.name === CELL_SERVICE || s.name === FUNCTION_SERVICE) {
        await request.delete(`${baseURL}/o16n/services/${s.name}/${s.version}`);
      }
    }
  });

  test('from a fresh notebook to a consumed service, as a user clicks (timed); the result is in view at 1400x900', async ({
    page,
    baseURL
  }) => {
    await skipWithoutServer(page, baseURL);
    const started = Date.now();
    await page.notebook.createNew('timed.ipynb');
    await page.notebook.setCell(0, 'code', TRAIN);
    await page.notebook.runCell(0, true);
    await page.notebook.addCell('code', SERVICE_CODE);
    await page.notebook.selectCells(1);
    const panel = await openPublishPanel(page);
    // the kernel's analysis: inputs, outputs (iris_type is a str) and the objects the code reads
    await expect(panel.getByLabel('Include clf')).toBeChecked({ timeout: 60000 });
    await expect(panel.getByLabel('Include names')).toBeChecked();
    await expect(panel.getByLabel('Include iris')).not.toBeChecked();
    await expect(panel.getByLabel('Inputs 1 name')).toHaveValue('flower_data');
    await expect(panel.getByLabel('Outputs 1 type')).toHaveValue('character');
    await panel.getByLabel('Name', { exact: true }).fill(CELL_SERVICE);
    await expect(panel.getByLabel('Version')).toHaveValue('v1');
    // test it in the kernel with a flower first (the consume cell takes the same sample)
    await panel.getByText("Test in the notebook's kernel").click();
    await panel.getByLabel('flower_data', { exact: true }).fill('[7, 3.2, 4.7, 1.4]');
    await panel.getByRole('button', { name: 'Test', exact: true }).click();
    await expect(panel.locator('.o16n-test-outputs')).toContainText('versicolor', { timeout: 60000 });
    await panel.getByRole('button', { name: 'Publish', exact: true }).click();
    const published = panel.getByText(`Published ${CELL_SERVICE} v1.`);
    await expect(published).toBeVisible({ timeout: 300000 });
    // #13 item 6: the result shows where the user clicked, without scrolling
    await expect(published).toBeInViewport();
    await expect(panel.getByRole('button', { name: 'Insert consume cell' })).toBeInViewport();
    const status = await (await page.request.get(`${baseURL}/o16n/status`)).json();
    await expect(panel.locator('.o16n-endpoint')).toHaveText(`POST ${status.url.replace(/\/+$/, '')}/api/${CELL_SERVICE}/v1`);
    await panel.getByRole('button', { name: 'Insert consume cell' }).click();
    await expect.poll(async () => (await page.notebook.getCellTextInput(2)) ?? '').toMatch(/^%load_ext o16n\n%o16n consume /);
    await page.notebook.runCell(2, true);
    await expect(consumeOutput(page, 2)).toContainText(VARIETY, { timeout: 60000 });
    const seconds = (Date.now() - started) / 1000;
    console.log(`o16n timing: fresh notebook to consumed service, clicking as a user: ${seconds.toFixed(1)} s`);
  });

  test('a kernel function defined after the panel opened: listed once, what it uses ticked, consumed', async ({ page, baseURL }) => {
    await skipWithoutServer(page, baseURL);
    await page.notebook.createNew('function.ipynb');
    await page.notebook.setCell(0, 'code', TRAIN);
    await page.notebook.runCell(0, true);
    const panel = await openPublishPanel(page);
    await expect(panel.getByText('A function defined in the kernel (none found)')).toBeVisible({ timeout: 60000 });
    // define the function now: the panel follows the kernel (#13 item 3)
    await page.notebook.addCell('code', PREDICT);
    await page.notebook.runCell(1, true);
    const functionMode = panel.getByLabel(/A function defined in the kernel/);
    await expect(functionMode).toBeEnabled({ timeout: 60000 });
    await functionMode.check();
    const option = panel.getByLabel('Function').locator('option');
    await expect(option).toHaveText(['predict(sepal_length: float, sepal_width: float, petal_length: float, petal_width: float) -> str']);
    // #13 item 2: what predict uses is ticked, and says so; what it does not use is not
    await expect(panel.getByLabel('Include clf')).toBeChecked({ timeout: 60000 });
    await expect(panel.getByLabel('Include names')).toBeChecked();
    await expect(panel.getByLabel('Include iris')).not.toBeChecked();
    await expect(panel.locator('.o16n-object-why').first()).toContainText('used by predict');
    await expect(panel.getByLabel('Inputs 1 name')).toHaveValue('sepal_length');
    await expect(panel.getByLabel('Inputs 1 type')).toHaveValue('numeric');
    await panel.getByLabel('Name', { exact: true }).fill(FUNCTION_SERVICE);
    await expect(panel.getByLabel('Version')).toHaveValue('v1');
    await panel.getByRole('button', { name: 'Publish', exact: true }).click();
    await expect(panel.getByText(`Published ${FUNCTION_SERVICE} v1.`)).toBeVisible({ timeout: 300000 });
    await panel.getByRole('button', { name: 'Insert consume cell' }).click();
    await expect.poll(async () => (await page.notebook.getCellTextInput(2)) ?? '').toContain(`%o16n consume ${FUNCTION_SERVICE} v1`);
    await page.notebook.runCell(2, true);
    await expect(consumeOutput(page, 2)).toContainText(VARIETY, { timeout: 60000 });
    await expect(consumeOutput(page, 2).locator('.o16n-badge')).toHaveText('success');
  });

  test('a 6-row batch: progress bar and results table, kept when the view is reopened (#13 item 1)', async ({ page, baseURL }) => {
    await skipWithoutServer(page, baseURL);
    await page.sidebar.openTab('o16n-catalog');
    const catalog = page.locator('#o16n-catalog');
    // the embedded server's admin, as its /users/me says (#9 item 4)
    await expect(catalog.getByText('Signed in with a local account as admin (Owner)')).toBeVisible();
    await catalog.getByRole('button', { name: 'Refresh the service list' }).click();
    await catalog.getByRole('button', { name: `Open ${FUNCTION_SERVICE} v1` }).click();
    const detail = page.locator('.o16n-detail');
    await detail.getByRole('tab', { name: 'Batch' }).click();
    const csv = [
      'sepal_length,sepal_width,petal_length,petal_width',
      '5.1,3.5,1.4,0.2',
      '4.9,3.0,1.4,0.2',
      '7.0,3.2,4.7,1.4',
      '6.4,3.2,4.5,1.5',
      '6.3,3.3,6.0,2.5',
      '5.8,2.7,5.1,1.9'
    ].join('\n');
    await detail.getByLabel(/Records/).fill(csv);
    await detail.getByRole('button', { name: 'Run batch' }).click();
    await expect(detail.locator('.o16n-batch-state')).toHaveText('6 / 6 · Complete', { timeout: 120000 });
    await expect(detail.getByLabel('Batch progress')).toHaveAttribute('value', '6');
    const rows = detail.getByRole('table', { name: 'Batch results' }).locator('tbody tr');
    await expect(rows).toHaveCount(6);
    await expect(rows.nth(0)).toContainText('setosa');
    await expect(rows.nth(2)).toContainText('versicolor');
    await expect(rows.nth(4)).toContainText('virginica');
    // close the view and open it again: the run is still there
    await page.locator('.lm-TabBar-tab', { hasText: `${FUNCTION_SERVICE} v1` }).locator('.lm-TabBar-tabCloseIcon').click();
    await expect(detail).toHaveCount(0);
    await catalog.getByRole('button', { name: `Open ${FUNCTION_SERVICE} v1` }).click();
    await detail.getByRole('tab', { name: 'Batch' }).click();
    await expect(detail.getByRole('table', { name: 'Batch results' }).locator('tbody tr')).toHaveCount(6);
  });

  test('two consume cells run in a fresh kernel, in either order (#13 item 4)', async ({ page, baseURL }) => {
    await skipWithoutServer(page, baseURL);
    await page.notebook.createNew('consume.ipynb');
    await page.sidebar.openTab('o16n-catalog');
    const catalog = page.locator('#o16n-catalog');
    await catalog.getByRole('button', { name: 'Refresh the service list' }).click();
    await catalog.getByRole('button', { name: `Insert a consume cell for ${CELL_SERVICE} v1` }).click();
    await page.sidebar.openTab('o16n-catalog');
    await catalog.getByRole('button', { name: `Insert a consume cell for ${FUNCTION_SERVICE} v1` }).click();
    await expect.poll(async () => (await page.notebook.getCellTextInput(2)) ?? '').toContain(FUNCTION_SERVICE);
    // the user puts a real flower in place of the sample [1, 2, 3] (the model wants 4 numbers)
    const first = (await page.notebook.getCellTextInput(1)) ?? '';
    expect(first).toBe(`%load_ext o16n\n%o16n consume ${CELL_SERVICE} v1 --flower_data '[1, 2, 3]'`);
    await page.notebook.setCell(1, 'code', first.replace('[1, 2, 3]', '[7, 3.2, 4.7, 1.4]'));
    for (const order of [
      [2, 1],
      [1, 2]
    ]) {
      await restartKernel(page);
      for (const cell of order) {
        await page.notebook.runCell(cell, true);
        await expect(consumeOutput(page, cell).locator('.o16n-badge')).toHaveText('success', { timeout: 60000 });
      }
    }
  });
});

/** Give the notebook a fresh kernel: nothing of the earlier runs is loaded in it. */
async function restartKernel(page: IJupyterLabPageFixture): Promise<void> {
  await page.evaluate(async () => {
    const app = (window as any).jupyterapp;
    const context = app.shell.currentWidget.sessionContext;
    // a new kernel process for the notebook, as Kernel > Change Kernel would start
    await context.changeKernel({ name: context.session.kernel.name });
    await context.ready;
  });
  await page.waitForTimeout(500);
  // outputs of the earlier run go, so that the checks see this run's
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('notebook:clear-all-cell-outputs'));
}

// ------------------------------------------------------------------------------------ restart
const RESTART_PORT = 8890;
const RESTART_URL = `http://localhost:${RESTART_PORT}`;

function startLab(stateDir: string): ChildProcess {
  const lab = spawn('jupyter', ['lab', '--config', 'jupyter_server_test_config.py'], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...process.env, O16N_UI_PORT: String(RESTART_PORT), O16N_UI_STATE_DIR: stateDir },
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe']
  });
  lab.stderr?.on('data', () => undefined);
  return lab;
}

async function waitForLab(page: Page): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const ok = await page.request
      .get(`${RESTART_URL}/o16n/status`)
      .then(r => r.ok() && r.json())
      .then(s => s && s.connected)
      .catch(() => false);
    if (ok) {
      return;
    }
    await page.waitForTimeout(500);
  }
  throw new Error('the restarted JupyterLab did not come up with a connected o16n');
}

async function stopLab(lab: ChildProcess): Promise<void> {
  if (lab.exitCode !== null || !lab.pid) {
    return;
  }
  const exited = new Promise(resolve => lab.once('exit', resolve));
  process.kill(-lab.pid, 'SIGTERM');
  await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 30000))]);
  if (lab.exitCode === null) {
    process.kill(-lab.pid, 'SIGKILL');
  }
}

async function openLab(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${RESTART_URL}/lab`);
  await page.waitForFunction(() => (window as any).jupyterapp?.started !== undefined);
  await page.evaluate(() => (window as any).jupyterapp.restored);
  return page;
}

test.describe('a JupyterLab restart', () => {
  test.use({ autoGoto: false });
  test.setTimeout(600000);

  test('keeps the endpoint, and the restored panel shows the notebook and its last publish (#13 items 5, 8)', async ({
    page: galataPage,
    baseURL,
    browser
  }) => {
    await skipWithoutServer(galataPage, baseURL);
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'o16n-ui-restart-'));
    const name = `IrisRestart${stamp}`;
    let lab = startLab(stateDir);
    try {
      await waitForLab(galataPage);
      const before = await (await galataPage.request.get(`${RESTART_URL}/o16n/status`)).json();
      fs.writeFileSync(
        path.join(stateDir, 'root', 'restart.ipynb'),
        JSON.stringify({
          nbformat: 4,
          nbformat_minor: 5,
          metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
          cells: [TRAIN, SERVICE_CODE].map((source, i) => ({
            id: `c${i}`,
            cell_type: 'code',
            metadata: {},
            source,
            outputs: [],
            execution_count: null
          }))
        })
      );
      let page = await openLab(browser);
      await page.evaluate(() => (window as any).jupyterapp.commands.execute('docmanager:open', { path: 'restart.ipynb' }));
      await expect(page.locator('.jp-NotebookPanel-toolbar [data-command="o16n:publish"]')).toBeVisible({ timeout: 60000 });
      await page.evaluate(async () => {
        const app = (window as any).jupyterapp;
        await app.shell.currentWidget.sessionContext.ready;
        await app.commands.execute('notebook:run-all-cells');
      });
      await expect(page.locator('.jp-Cell').nth(0).locator('.jp-InputPrompt')).toHaveText('[1]:', { timeout: 120000 });
      await page.locator('.jp-Cell').nth(1).locator('.jp-InputPrompt').click();
      let panel = await openPublishPanel(page);
      await expect(panel.getByLabel('Include clf')).toBeChecked({ timeout: 60000 });
      await panel.getByLabel('Name', { exact: true }).fill(name);
      await expect(panel.getByLabel('Version')).toHaveValue('v1');
      await panel.getByRole('button', { name: 'Publish', exact: true }).click();
      await expect(panel.getByText(`Published ${name} v1.`)).toBeVisible({ timeout: 300000 });
      const endpoint = await panel.locator('.o16n-endpoint').textContent();
      expect(endpoint).toBe(`POST ${before.url.replace(/\/+$/, '')}/api/${name}/v1`);
      // the user saves the notebook (its metadata holds the publish target); JupyterLab saves the
      // layout (the open panel) a moment after it changes
      await page.evaluate(() => (window as any).jupyterapp.commands.execute('docmanager:save'));
      await page.waitForTimeout(3000);
      await page.close();

      await stopLab(lab);
      lab = startLab(stateDir);
      await waitForLab(galataPage);
      const after = await (await galataPage.request.get(`${RESTART_URL}/o16n/status`)).json();
      expect(after.url).toBe(before.url); // the embedded server kept its port
      page = await openLab(browser);
      panel = page.locator('#o16n-publish');
      await expect(panel).toBeVisible({ timeout: 60000 });
      await expect(panel.getByText('No notebook is open.')).toHaveCount(0);
      await expect(panel.locator('.o16n-source-line')).toContainText('restart.ipynb', { timeout: 60000 });
      await expect(panel.getByText(`Published ${name} v1.`)).toBeVisible({ timeout: 60000 });
      await expect(panel.locator('.o16n-endpoint')).toHaveText(endpoint ?? '');
      // the remembered target: the same name, the next version
      await expect(panel.getByLabel('Name', { exact: true })).toHaveValue(name);
      await expect(panel.getByLabel('Version')).toHaveValue('v2');
      // and the endpoint answers
      const consumed = await page.request.post(`${RESTART_URL}/o16n/services/${name}/v1/consume`, {
        data: { inputs: { flower_data: [7, 3.2, 4.7, 1.4] } }
      });
      expect((await consumed.json()).outputParameters.iris_type).toMatch(VARIETY);
      await page.request.delete(`${RESTART_URL}/o16n/services/${name}/v1`);
      await page.close();
    } finally {
      await stopLab(lab);
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
