/**
 * Browser test of the publish panel's environment section (#10 item 1) against the real server
 * extension and its embedded o16n server: the kernel's analysis lists the packages the code and
 * its objects need (scikit-learn for a fitted SVC, attrs for the code's import, each with why), the
 * user changes the list (pins attrs to an older version and sees the warning that the server has
 * another, adds a package and removes it again, by keyboard), publishes, and the service, built in
 * its own environment, reports the attrs version it was pinned to when consumed.
 * Skipped when /o16n/status does not answer.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

const TRAIN = [
  'from sklearn import datasets, svm',
  'iris = datasets.load_iris()',
  'clf = svm.SVC().fit(iris.data, iris.target)'
].join('\n');
// the service reports the attrs its environment has, next to the prediction
const SERVICE_CODE = ['import attrs', 'label = int(clf.predict([flower])[0])', 'attrs_version = str(attrs.__version__)'].join('\n');
const ATTRS = '23.2.0';
const NAME = `IrisEnv${Date.now() % 100000}`;

async function skipWithoutServer(page: IJupyterLabPageFixture, baseURL: string | undefined): Promise<void> {
  const status = await page.request.get(`${baseURL}/o16n/status`).catch(() => null);
  test.skip(!status || !status.ok(), 'the o16n Jupyter server extension is not installed or does not answer');
}

test.describe('the environment of a published service', () => {
  test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });
  test.setTimeout(900000);

  test.afterAll(async ({ request, baseURL }) => {
    await request.delete(`${baseURL}/o16n/services/${NAME}/v1`).catch(() => undefined);
  });

  test('the captured packages, edited (a pin changed with its warning, a package added and removed), built and used by the service', async ({ page, baseURL }) => {
    await skipWithoutServer(page, baseURL);
    await page.notebook.createNew('environment.ipynb');
    await page.notebook.setCell(0, 'code', TRAIN);
    await page.notebook.runCell(0, true);
    await page.notebook.addCell('code', SERVICE_CODE);
    await page.notebook.selectCells(1);
    await page.locator('.jp-NotebookPanel-toolbar [data-command="o16n:publish"]').click();
    const panel = page.locator('#o16n-publish');
    await expect(panel.getByLabel('Include clf')).toBeChecked({ timeout: 60000 });
    await expect(panel.getByLabel('Inputs 1 name')).toHaveValue('flower');
    await expect(panel.getByLabel('Outputs 2 name')).toHaveValue('attrs_version');
    await panel.getByLabel('Outputs 2 type').selectOption('character');

    // the environment the analysis captured: scikit-learn because clf is an SVC, at the kernel's version
    const section = panel.locator('details.o16n-environment');
    const summary = section.locator('summary');
    await expect(summary).toContainText(/Python 3\.\d+\.\d+, \d+ packages?/, { timeout: 60000 });
    if (!(await section.evaluate(d => (d as HTMLDetailsElement).open))) {
      await summary.click();
    }
    const packages = section.getByRole('table', { name: 'Packages' });
    const sklearn = packages.locator('tr[data-package="scikit-learn"]');
    await expect(sklearn).toContainText(/provides sklearn/);
    await expect(section.getByLabel('Pin of scikit-learn')).toHaveValue(/^\d+\.\d+/);
    // the embedded server runs in Jupyter's own environment, as the kernel here: the same version, no warning
    await expect(sklearn.locator('.o16n-env-warning')).toHaveCount(0);

    // the code imports attrs: captured at the kernel's version; the user pins an older one, and is
    // warned that the server has another
    const attrsRow = packages.locator('tr[data-package="attrs"]');
    await expect(attrsRow).toContainText(/provides attrs/);
    await section.getByLabel('Pin of attrs').fill(ATTRS);
    await expect(attrsRow.locator('.o16n-env-warning')).toHaveText(/the server has \d/);
    await expect(attrsRow).toContainText(/the kernel has \d/);
    // adds a package with the keyboard, then changes their mind and removes it
    await section.getByRole('button', { name: '+ Add package' }).click();
    const added = packages.locator('tbody tr').last();
    await added.getByRole('textbox').first().fill('iniconfig');
    await page.keyboard.press('Tab');
    await page.keyboard.type('2.0.0');
    await expect(section.getByLabel('Pin of iniconfig')).toHaveValue('2.0.0');
    await page.keyboard.press('Tab');
    await expect(section.getByRole('button', { name: 'Remove package iniconfig' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(packages.locator('tr[data-package="iniconfig"]')).toHaveCount(0);
    await section.screenshot({ path: test.info().outputPath('environment-section.png') });

    await panel.getByLabel('Name', { exact: true }).fill(NAME);
    await panel.getByRole('button', { name: 'Publish', exact: true }).click();
    // the environment step, with the server's progress, then the service
    const environmentStep = panel.locator('.o16n-step', { hasText: 'Building the environment' });
    await expect(environmentStep).toBeVisible({ timeout: 60000 });
    // done, or failed (then the alert says why, at once)
    const published = panel.getByText(`Published ${NAME} v1.`);
    await expect(published.or(panel.getByRole('alert'))).toBeVisible({ timeout: 600000 });
    await expect(panel.getByRole('alert')).toHaveCount(0);
    await expect(published).toBeVisible();
    await panel.locator('.o16n-steps-done summary').click();
    await expect(environmentStep).toContainText(/ready in [\d.]+ s|reused/);

    // consumed: the service runs attrs as pinned, not the server's
    const consumed = await page.request.post(`${baseURL}/o16n/services/${NAME}/v1/consume`, {
      data: { inputs: { flower: [5.1, 3.5, 1.4, 0.2] } }
    });
    const answer = await consumed.json();
    expect(answer.errorMessage || null).toBeNull();
    expect(answer.success).toBe(true);
    expect(answer.outputParameters).toEqual({ label: 0, attrs_version: ATTRS });
    // and the catalog shows the environment it runs in
    const service = await (await page.request.get(`${baseURL}/o16n/services/${NAME}/v1`)).json();
    expect(service.environment.packages).toContain(`attrs==${ATTRS}`);
    expect(service.environment.packages.some((p: string) => p.startsWith('iniconfig'))).toBe(false);
  });
});
