/**
 * End-to-end tests of jupyterlab-o16n in a real JupyterLab (galata + Debian's chromium).
 *
 * - "UI against a fake backend": the whole publish -> catalog -> swagger -> try -> consume cell ->
 *   delete flow with /o16n routes answered in the browser (runs without the server extension).
 * - "Iris end to end": the same against the real server extension and its embedded o16n server,
 *   including running the consume cell; skipped when /o16n/status does not answer.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

import { installFakeO16n } from './fake-o16n';

const SHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

/** The README's screenshots are rewritten only when asked: O16N_SCREENSHOTS=1 make test-ui */
async function shoot(target: { screenshot: (o: { path: string }) => Promise<unknown> }, name: string): Promise<void> {
  if (process.env.O16N_SCREENSHOTS) {
    await target.screenshot({ path: path.join(SHOTS, name) });
  }
}

const TRAIN = [
  'from sklearn import datasets, svm',
  'iris = datasets.load_iris()',
  'clf = svm.SVC().fit(iris.data, iris.target)',
  'names = iris.target_names.tolist()'
].join('\n');
const SERVICE_CODE = 'iris_type = names[int(clf.predict([flower_data])[0])]';

async function notebookWithIrisCells(page: IJupyterLabPageFixture, runTraining: boolean): Promise<void> {
  await page.notebook.createNew('iris.ipynb');
  await page.notebook.setCell(0, 'code', TRAIN);
  if (runTraining) {
    await page.notebook.runCell(0, true);
  }
  await page.notebook.addCell('code', SERVICE_CODE);
  await page.notebook.selectCells(1);
}

/** Switch JupyterLab's theme with its own command, and wait until the page uses it. */
async function changeTheme(page: IJupyterLabPageFixture, theme: 'JupyterLab Dark' | 'JupyterLab Light'): Promise<void> {
  await page.evaluate(async name => {
    await (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: name });
  }, theme);
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-name', theme);
  await page.waitForTimeout(500); // let the theme's CSS variables settle before screenshots
}

async function openPublishPanelFromToolbar(page: IJupyterLabPageFixture, widen = true) {
  const button = page.locator('.jp-NotebookPanel-toolbar [data-command="o16n:publish"]');
  await expect(button).toBeVisible();
  await button.click();
  const panel = page.locator('#o16n-publish');
  await expect(panel).toBeVisible();
  if (!widen) {
    return panel;
  }
  // widen the right sidebar (drag the handle between the main area and it) for readable screenshots
  const handle = page.locator('#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)').last();
  const box = await handle.boundingBox();
  if (box) {
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x - 200, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
  }
  return panel;
}

test.describe('jupyterlab-o16n', () => {
  test.use({ autoGoto: true, viewport: { width: 1400, height: 1000 } });

  test('adds the toolbar button, the panels, the palette commands and the settings', async ({ page }) => {
    await page.notebook.createNew('empty.ipynb');
    await expect(page.locator('.jp-NotebookPanel-toolbar [data-command="o16n:publish"]')).toBeVisible();
    await expect(page.locator('.jp-SideBar [data-id="o16n-catalog"]')).toBeVisible();
    await expect(page.locator('.jp-SideBar [data-id="o16n-publish"]')).toBeVisible();
    // the cell toolbar carries the publish and consume buttons
    await page.notebook.selectCells(0);
    await expect(page.locator('.jp-cell-toolbar [data-command="o16n:publish"]').first()).toBeAttached();
    await expect(page.locator('.jp-cell-toolbar [data-command="o16n:insert-consume-cell"]').first()).toBeAttached();
    // palette
    await page.keyboard.press('Control+Shift+C');
    await page.locator('.lm-CommandPalette-input').fill('web service');
    await expect(page.locator('.lm-CommandPalette-item', { hasText: 'Publish as web service' })).toBeVisible();
    await page.keyboard.press('Escape');
    // settings
    const settings = await page.evaluate(async () => {
      const registry = (window as any).galata?.app?.serviceManager?.settings;
      const fetched = registry ? await registry.fetch('jupyterlab-o16n:plugin') : null;
      return fetched ? Object.keys(fetched.schema.properties) : [];
    });
    expect(settings.sort()).toEqual(['askBeforeDelete', 'catalogRefreshInterval', 'showCodeSnippets', 'versionScheme']);
  });

  test('renders o16n results, service lists and swagger in notebook outputs', async ({ page }) => {
    await page.notebook.createNew('mime.ipynb');
    await page.notebook.setCell(
      0,
      'code',
      [
        'from IPython.display import display',
        "display({'application/vnd.o16n.result+json': {'name': 'Iris', 'version': 'v1', 'success': True, 'errorMessage': '',",
        "  'consoleOutput': 'scored 1 row', 'outputParameters': {'iris_type': 'versicolor'}, 'outputFiles': [], 'elapsed': 0.021},",
        "  'text/plain': 'result'}, raw=True)",
        "display({'application/vnd.o16n.services+json': [{'name': 'Iris', 'version': 'v1', 'runtimeType': 'Python',",
        "  'inputParameterDefinitions': [{'name': 'flower_data', 'type': 'vector'}]}], 'text/plain': 'services'}, raw=True)"
      ].join('\n')
    );
    await page.notebook.runCell(0, true);
    const result = page.locator('.o16n-mime-result');
    await expect(result).toContainText('versicolor');
    await expect(result).toContainText('21 ms');
    await expect(page.locator('.o16n-mime-services')).toContainText('flower_data: vector');
    await shoot(result, 'consume-result.png');
  });

  test('publish, catalog, swagger, try it, consume cell and delete against a fake backend', async ({ page, tmpPath }) => {
    const fake = await installFakeO16n(page);
    await page.goto(`tree/${tmpPath}`); // reload with the fake routes, the file browser in the test's folder
    await notebookWithIrisCells(page, false);

    const panel = await openPublishPanelFromToolbar(page);
    await expect(panel.getByRole('table', { name: 'Kernel objects' })).toBeVisible();
    await panel.getByLabel('Name', { exact: true }).fill('Iris');
    await expect(panel.getByLabel('Version')).toHaveValue('v1');
    await panel.getByLabel('Description').fill('Iris variety from sepal and petal sizes');
    await panel.getByLabel('Operation id (optional)').fill('predict-iris');
    await expect(panel.getByLabel('Inputs 1 name')).toHaveValue('flower_data');
    await expect(panel.getByLabel('Inputs 1 type')).toHaveValue('vector');
    await expect(panel.getByLabel('Outputs 1 name')).toHaveValue('iris_type');
    await panel.getByLabel('Outputs 1 type').selectOption('character');
    await expect(panel.getByLabel('Include clf')).toBeChecked();
    await expect(panel.getByLabel('Include names')).toBeChecked();
    await expect(panel.getByLabel('Include iris')).not.toBeChecked();
    await shoot(panel, 'publish-panel.png');

    await panel.getByRole('button', { name: 'Publish', exact: true }).click();
    // the operation id must be a Python identifier
    await expect(panel.getByText('"predict-iris" is not a Python identifier', { exact: false })).toBeVisible();
    await expect(panel.getByLabel('Operation id (optional)')).toBeFocused();
    await panel.getByLabel('Operation id (optional)').fill('predict_iris');
    await panel.getByRole('button', { name: 'Publish', exact: true }).click();
    await expect(panel.getByText('Published Iris v1.')).toBeVisible();
    await expect(panel.locator('.o16n-endpoint')).toHaveText('POST http://127.0.0.1:12800/api/Iris/v1');
    await expect(panel.locator('.o16n-step[data-state="skipped"]')).toContainText('Uploading files (skipped');
    expect(fake.published[0]).toMatchObject({ name: 'Iris', version: 'v1', operationId: 'predict_iris' });
    await shoot(panel, 'publish-done.png');
    expect(fake.services.map(s => `${s.name} ${s.version}`)).toEqual(['Iris v1']);

    // catalog
    await page.sidebar.openTab('o16n-catalog');
    const catalog = page.locator('#o16n-catalog');
    await expect(catalog.getByRole('button', { name: 'Open Iris v1' })).toBeVisible();
    await shoot(catalog, 'catalog.png');
    // keyboard: Tab from the search field into the tree, arrow down to the version, Enter opens it
    await catalog.getByLabel('Search services').focus();
    await page.keyboard.press('Tab');
    await expect(catalog.getByRole('button', { name: /Iris/, expanded: true })).toBeFocused();
    await page.keyboard.press('ArrowDown');
    await expect(catalog.getByRole('button', { name: 'Open Iris v1' })).toBeFocused();
    await page.keyboard.press('Enter');

    // detail: swagger, try it
    const detail = page.locator('.o16n-detail');
    await expect(detail).toContainText('Iris variety from sepal and petal sizes');
    await detail.getByRole('tab', { name: 'Swagger' }).click();
    await expect(detail.locator('.o16n-operation').first()).toContainText('/api/Iris/v1');
    await detail.getByRole('tab', { name: 'Try it' }).click();
    await detail.getByLabel(/flower_data/).fill('[7, 3.2, 4.7, 1.4]');
    await detail.getByRole('button', { name: 'Consume', exact: true }).click();
    await expect(detail.locator('.o16n-result')).toContainText('versicolor');
    await shoot(detail, 'try-it.png');

    // consume cell
    await detail.getByRole('button', { name: 'Insert consume cell' }).click();
    await expect
      .poll(async () => (await page.notebook.getCellTextInput(2)) ?? '')
      .toBe("%load_ext o16n\n%o16n consume Iris v1 --flower_data '[7, 3.2, 4.7, 1.4]'");

    // delete
    await page.locator('.lm-TabBar-tab', { hasText: 'Iris v1' }).click();
    await detail.getByRole('button', { name: 'Delete version' }).click();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Delete' }).click();
    await expect(detail).toHaveCount(0);
    expect(fake.services).toEqual([]);
    await expect(catalog.getByText('No web services yet.')).toBeVisible();
  });

  test('the publish panel opens wide enough and its result is in view without scrolling at 1400x900 (#13 items 6, 7)', async ({ page, tmpPath }) => {
    await page.setViewportSize({ width: 1400, height: 900 });
    await installFakeO16n(page);
    await page.goto(`tree/${tmpPath}`);
    await notebookWithIrisCells(page, false);
    const panel = await openPublishPanelFromToolbar(page, false);
    await expect(panel.getByLabel('Include clf')).toBeChecked();
    // wide enough for its fields: nothing is cut ("flower_", "vecto", "float (")
    const box = await panel.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThanOrEqual(400);
    for (const label of ['Inputs 1 name', 'Inputs 1 type', 'Outputs 1 type']) {
      const clipped = await panel.getByLabel(label).evaluate(el => {
        const e = el as HTMLInputElement | HTMLSelectElement;
        if (e instanceof HTMLSelectElement) {
          const probe = document.createElement('span');
          probe.style.font = getComputedStyle(e).font;
          probe.textContent = e.selectedOptions[0]?.text ?? '';
          document.body.appendChild(probe);
          const need = probe.getBoundingClientRect().width;
          probe.remove();
          return need + 24 > e.clientWidth; // the arrow takes about 24 px
        }
        return e.scrollWidth > e.clientWidth;
      });
      expect({ label, clipped }).toEqual({ label, clipped: false });
    }
    await panel.getByLabel('Name', { exact: true }).fill('Iris');
    const publish = panel.getByRole('button', { name: 'Publish', exact: true });
    await expect(publish).toBeInViewport();
    await publish.click();
    // the steps, then the result, show where the button is: no scrolling needed
    await expect(panel.locator('.o16n-publish-outcome')).toBeInViewport();
    await expect(panel.getByText('Published Iris v1.')).toBeInViewport();
    await expect(panel.getByRole('button', { name: 'Insert consume cell' })).toBeInViewport();
    await expect(panel.locator('.o16n-endpoint')).toBeInViewport();
    const scrolled = await panel.locator('.o16n-publish-body').evaluate(el => el.scrollTop);
    expect(scrolled).toBe(0);
  });

  test('dark theme: publish panel, catalog and service view stay readable', async ({ page, tmpPath }) => {
    const fake = await installFakeO16n(page);
    await page.goto(`tree/${tmpPath}`); // reload with the fake routes, the file browser in the test's folder
    await changeTheme(page, 'JupyterLab Dark');
    try {
      await notebookWithIrisCells(page, false);
      const panel = await openPublishPanelFromToolbar(page);
      await expect(panel.getByRole('table', { name: 'Kernel objects' })).toBeVisible();
      await panel.getByLabel('Name', { exact: true }).fill('Iris');
      await expect(panel.getByLabel('Version')).toHaveValue('v1');
      await panel.getByLabel('Description').fill('Iris variety from sepal and petal sizes');
      await panel.getByLabel('Operation id (optional)').fill('2nd try');
      await panel.getByLabel('Outputs 1 type').selectOption('character');
      await panel.getByLabel('Include iris').check();
      await panel.getByRole('button', { name: 'Publish', exact: true }).click();
      await expect(panel.getByText('is not a Python identifier', { exact: false })).toBeVisible();
      await shoot(panel, 'publish-panel-dark.png');

      await panel.getByLabel('Operation id (optional)').fill('predict_iris');
      await panel.getByRole('button', { name: 'Publish', exact: true }).click();
      await expect(panel.getByText('Published Iris v1.')).toBeVisible();
      // `iris` could not be serialized: named with its reason, the service is published without it
      await expect(panel.getByRole('list', { name: 'Objects not shipped' })).toContainText(
        'iris: cannot pickle generator object (fake)'
      );
      await panel.locator('.o16n-published').scrollIntoViewIfNeeded();
      await shoot(panel, 'publish-done-dark.png');

      await page.sidebar.openTab('o16n-catalog');
      const catalog = page.locator('#o16n-catalog');
      await expect(catalog.getByRole('button', { name: 'Open Iris v1' })).toBeVisible();
      await shoot(catalog, 'catalog-dark.png');
      await catalog.getByRole('button', { name: 'Open Iris v1' }).click();

      const detail = page.locator('.o16n-detail');
      await expect(detail).toContainText('Iris variety from sepal and petal sizes');
      await shoot(detail, 'service-dark.png');
      await detail.getByRole('tab', { name: 'Swagger' }).click();
      await expect(detail.locator('.o16n-operation').first()).toContainText('/api/Iris/v1');
      await shoot(detail, 'swagger-dark.png');
      await detail.getByRole('tab', { name: 'Try it' }).click();
      await detail.getByLabel(/flower_data/).fill('[7, 3.2, 4.7, 1.4]');
      await detail.getByRole('button', { name: 'Consume', exact: true }).click();
      await expect(detail.locator('.o16n-result')).toContainText('versicolor');
      await shoot(detail, 'try-it-dark.png');

      // batch: a slow fake batch, cancelled while it runs
      await detail.getByRole('tab', { name: 'Batch' }).click();
      const records = Array.from({ length: 6 }, (_, i) => ({ flower_data: [5 + i / 10, 3, 1.4, 0.2] }));
      await detail.getByLabel(/Records/).fill(JSON.stringify(records));
      await detail.getByRole('button', { name: 'Run batch' }).click();
      const cancel = detail.getByRole('button', { name: 'Cancel the batch' });
      await expect(cancel).toBeVisible();
      await expect(detail.locator('.o16n-batch-state')).toContainText('InProgress');
      await shoot(detail, 'batch-running-dark.png');
      await cancel.click();
      await expect(detail.locator('.o16n-batch-state')).toContainText('Cancelled');
      await expect(detail.getByText(/Batch cancelled/)).toBeVisible();
      await expect(cancel).toHaveCount(0);
      expect(Array.from(fake.batches.values()).map(b => b.cancelled)).toEqual([true]);
      await shoot(detail, 'batch-cancelled-dark.png');

      // log out, see why we are disconnected, log in again (embedded mode)
      await page.sidebar.openTab('o16n-catalog');
      await catalog.getByRole('button', { name: 'Log out' }).click();
      await expect(catalog.getByText('Not connected to the embedded server')).toBeVisible();
      await expect(catalog.getByText('not logged in', { exact: true })).toBeVisible();
      await shoot(catalog, 'catalog-logged-out-dark.png');
      await catalog.getByRole('button', { name: 'Log in again as admin' }).click();
      await expect(catalog.getByRole('button', { name: 'Open Iris v1' })).toBeVisible();
    } finally {
      await changeTheme(page, 'JupyterLab Light');
    }
  });

  test('Iris end to end against the real server extension', async ({ page, baseURL }) => {
    const status = await page.request.get(`${baseURL}/o16n/status`).catch(() => null);
    test.skip(!status || !status.ok(), 'the o16n Jupyter server extension is not installed or does not answer');
    test.setTimeout(600000);
    // versions left by an interrupted earlier run
    const leftovers = (await (await page.request.get(`${baseURL}/o16n/services`)).json()) as { name: string; version: string }[];
    for (const s of leftovers.filter(s => s.name.startsWith('IrisE2E'))) {
      await page.request.delete(`${baseURL}/o16n/services/${s.name}/${s.version}`);
    }
    const name = `IrisE2E${Date.now() % 100000}`;

    await notebookWithIrisCells(page, true);
    const panel = await openPublishPanelFromToolbar(page);
    await expect(panel.getByLabel('Include clf')).toBeChecked({ timeout: 60000 });
    await panel.getByLabel('Name', { exact: true }).fill(name);
    await expect(panel.getByLabel('Version')).toHaveValue('v1');
    await panel.getByLabel('Operation id (optional)').fill('predict_iris');
    await panel.getByLabel('Outputs 1 type').selectOption('character');
    // Test in the kernel first
    await panel.getByText('Test in the notebook\'s kernel').click();
    await panel.getByLabel('flower_data', { exact: true }).fill('[7, 3.2, 4.7, 1.4]');
    await panel.getByRole('button', { name: 'Test', exact: true }).click();
    await expect(panel.locator('.o16n-test-outputs')).toContainText('versicolor');
    // a tall window shows the whole panel, from its name field down to the test result
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: viewport?.width ?? 1280, height: 2000 });
    await page.waitForTimeout(300);
    await shoot(panel, 'publish-panel.png');
    if (viewport) {
      await page.setViewportSize(viewport);
    }
    await panel.getByRole('button', { name: 'Publish', exact: true }).click();
    await expect(panel.getByText(`Published ${name} v1.`)).toBeVisible({ timeout: 300000 });

    await page.sidebar.openTab('o16n-catalog');
    const catalog = page.locator('#o16n-catalog');
    await catalog.getByRole('button', { name: 'Refresh the service list' }).click();
    await expect(catalog.getByRole('button', { name: `Open ${name} v1` })).toBeVisible();
    await shoot(catalog, 'catalog.png');
    await catalog.getByRole('button', { name: `Open ${name} v1` }).click();

    const detail = page.locator('.o16n-detail');
    await detail.getByRole('tab', { name: 'Swagger' }).click();
    await expect(detail.locator('.o16n-operation').first()).toContainText(`/api/${name}/v1`);
    await expect(detail).toContainText('predict_iris'); // the operation id given in the publish panel
    await detail.getByRole('tab', { name: 'Try it' }).click();
    await detail.getByLabel(/flower_data/).fill('[7, 3.2, 4.7, 1.4]');
    await detail.getByRole('button', { name: 'Consume', exact: true }).click();
    await expect(detail.locator('.o16n-result')).toContainText('versicolor', { timeout: 60000 });
    await shoot(detail, 'try-it.png');
    await detail.getByRole('button', { name: 'Insert consume cell' }).click();

    await page.locator('.lm-TabBar-tab', { hasText: 'iris.ipynb' }).click();
    await page.notebook.runCell(2, true);
    const output = page.locator('.jp-Cell').nth(2).locator('.o16n-mime-result');
    await expect(output).toContainText('versicolor', { timeout: 60000 });
    await shoot(page.locator('.jp-Cell').nth(2), 'consume-result.png');

    await page.locator('.lm-TabBar-tab', { hasText: `${name} v1` }).click();
    await detail.getByRole('button', { name: 'Delete version' }).click();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Delete' }).click();
    await expect(catalog.getByRole('button', { name: `Open ${name} v1` })).toHaveCount(0);
  });
});

