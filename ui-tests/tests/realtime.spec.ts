/**
 * Browser test of "Publish a model (realtime)" (#14 item 3) against the real server extension and
 * its embedded o16n server: a fitted scikit-learn SVC in a notebook variable is published from the
 * notebook toolbar as a realtime service (converted to ONNX in the kernel), answers a consume cell
 * the panel inserts, shows up in the catalog with its badge, and answers when consumed from its view. Skipped when /o16n/status does not answer.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

const TRAIN = [
  'from sklearn import datasets, svm',
  'iris = datasets.load_iris()',
  "X = iris.data.astype('float32')",
  'clf = svm.SVC().fit(X, iris.target)'
].join('\n');
const NAME = `IrisRealtime${Date.now() % 100000}`;

async function skipWithoutServer(page: IJupyterLabPageFixture, baseURL: string | undefined): Promise<void> {
  const status = await page.request.get(`${baseURL}/o16n/status`).catch(() => null);
  test.skip(!status || !status.ok(), 'the o16n Jupyter server extension is not installed or does not answer');
}

test.describe('publishing a model (realtime)', () => {
  test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });
  test.setTimeout(600000);

  test.afterAll(async ({ request, baseURL }) => {
    await request.delete(`${baseURL}/o16n/services/${NAME}/v1`).catch(() => undefined);
  });

  test('a fitted SVC of the notebook becomes a realtime service, badged in the catalog, and answers', async ({ page, baseURL }) => {
    await skipWithoutServer(page, baseURL);
    await page.notebook.createNew('realtime.ipynb');
    await page.notebook.setCell(0, 'code', TRAIN);
    await page.notebook.runCell(0, true);
    // the notebook toolbar's "Publish a model (realtime)"
    await page.locator('.jp-NotebookPanel-toolbar [data-command="o16n:publish-model"]').click();
    const panel = page.locator('#o16n-publish');
    await expect(panel.getByRole('heading', { name: 'Publish a model (realtime)' })).toBeVisible();
    // the kernel's fitted estimator is proposed; the data is offered as the sample
    await expect(panel.getByLabel('Model variable')).toHaveValue('clf', { timeout: 60000 });
    await expect(panel.getByLabel('Model variable').locator('option')).toHaveText([/^clf \(.*SVC\)$/]);
    await panel.getByLabel('Sample input (optional)').selectOption('X');
    await panel.getByLabel('Name', { exact: true }).fill(NAME);
    await expect(panel.getByLabel('Version')).toHaveValue('v1');
    await panel.getByLabel('Description').fill('Iris SVC scored by ONNX Runtime');
    await panel.screenshot({ path: test.info().outputPath('realtime-panel.png') });
    await panel.getByRole('button', { name: 'Publish', exact: true }).click();
    // done, or failed (then the alert says why, at once)
    const published = panel.getByText(`Published ${NAME} v1.`);
    await expect(published.or(panel.getByRole('alert'))).toBeVisible({ timeout: 300000 });
    await expect(panel.getByRole('alert')).toHaveCount(0);
    await expect(published).toBeVisible();
    // its steps: converted in the kernel, then published
    await panel.locator('.o16n-steps-done summary').click();
    const steps = panel.getByRole('list', { name: 'Publish progress' }).locator('li');
    await expect(steps).toHaveCount(2);
    await expect(steps.nth(0)).toContainText('Converting the model to ONNX');
    await expect(steps.nth(0)).toContainText(/onnx/i);
    await expect(steps.nth(1)).toContainText('Publishing');

    // a consume cell from the panel: a row that fits the model (four columns), run in the notebook
    await panel.getByRole('button', { name: 'Insert consume cell' }).click();
    await expect
      .poll(async () => (await page.notebook.getCellTextInput(1)) ?? '')
      .toBe(`%load_ext o16n\n%o16n consume ${NAME} v1 --inputData '{{"x1":[1],"x2":[1],"x3":[1],"x4":[1]}}'`);
    await page.notebook.runCell(1, true);
    const cellResult = page.locator('.jp-Notebook .jp-Cell').nth(1).locator('.o16n-mime-result');
    await expect(cellResult.locator('.o16n-badge')).toHaveText('success', { timeout: 60000 });
    await expect(cellResult).toContainText('output_label');

    // the catalog lists it with the realtime badge
    await page.sidebar.openTab('o16n-catalog');
    const catalog = page.locator('#o16n-catalog');
    await catalog.getByRole('button', { name: 'Refresh the service list' }).click();
    const row = catalog.getByRole('button', { name: `Open ${NAME} v1` });
    await expect(row.locator('.o16n-badge-realtime')).toHaveText('Realtime service');
    await row.click();
    const detail = page.locator('.o16n-detail');
    await expect(detail.getByRole('table', { name: 'Model tensors' })).toBeVisible({ timeout: 60000 });

    // consumed from its view: a data frame of two flowers, columns in the model's order
    await detail.getByRole('tab', { name: 'Try it' }).click();
    await detail
      .getByLabel('inputData')
      .fill('{"sepal_length": [5.1, 7.0], "sepal_width": [3.5, 3.2], "petal_length": [1.4, 4.7], "petal_width": [0.2, 1.4]}');
    await detail.getByRole('button', { name: 'Consume', exact: true }).click();
    const result = detail.locator('.o16n-result');
    await expect(result.locator('.o16n-badge')).toHaveText('success', { timeout: 60000 });
    await expect(result).toContainText('output_label');
    // the same predictions as scikit-learn's on those rows: setosa (0), versicolor (1)
    const consumed = await page.request.post(`${baseURL}/o16n/services/${NAME}/v1/consume`, {
      data: { inputs: { inputData: { a: [5.1, 7.0], b: [3.5, 3.2], c: [1.4, 4.7], d: [0.2, 1.4] } } }
    });
    expect(consumed.ok()).toBe(true);
    expect((await consumed.json()).outputParameters.outputData.output_label).toEqual([0, 1]);
  });
});
