// PDF and PNG export: the HTML report rendered by Debian's Chromium through playwright-core
// (no browser download is possible here, so the executable is the system one).
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CapabilityError } from '../harness/core/errors.ts';

export const CHROMIUM = process.env.VNETBENCH_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new CapabilityError(`PDF/PNG export needs Chromium at ${CHROMIUM}, which does not exist`, 'apt-get install chromium (or set VNETBENCH_CHROMIUM), or leave pdf/png out of --format');
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Open a report and wait until its charts are drawn (the page sets window.vnbReady). */
export async function openReport(browser: Browser, htmlFile: string, width = 1200): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
  await page.waitForFunction(() => (window as unknown as { vnbReady?: boolean }).vnbReady === true, undefined, { timeout: 30_000 });
  return page;
}

export async function exportPdf(browser: Browser, htmlFile: string, pdfFile: string): Promise<void> {
  const page = await openReport(browser, htmlFile);
  try {
    // Print media first, then let the charts re-measure their A4-sized boxes before printing.
    await page.emulateMedia({ media: 'print' });
    await page.evaluate(() => {
      document.querySelectorAll('details.print-open').forEach((d) => ((d as HTMLDetailsElement).open = true));
      (window as unknown as { vnbResize: () => void }).vnbResize();
    });
    await page.pdf({
      path: pdfFile,
      format: 'A4',
      printBackground: true,
      preferCSSPageSize: true,
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate:
        '<div style="font-size:7pt;color:#666;width:100%;padding:0 12mm;display:flex;justify-content:space-between;"><span class="title"></span><span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>',
      margin: { top: '13mm', bottom: '14mm', left: '12mm', right: '12mm' },
    });
  } finally {
    await page.close();
  }
}

export async function exportPng(browser: Browser, htmlFile: string, pngFile: string): Promise<void> {
  const page = await openReport(browser, htmlFile);
  try {
    await page.screenshot({ path: pngFile, fullPage: true });
  } finally {
    await page.close();
  }
}
