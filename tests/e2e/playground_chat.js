// Drives the Microsoft 365 Agents Playground's web UI in headless Chromium, as a person would:
// type a message in the personal chat, send it, wait for the bot's answer, take a screenshot.
// Usage: node playground_chat.js <playground url> <text> <expected text in reply> <screenshot.png>
// Prints one JSON line: {"ok": true, "reply": "..."}; exits 1 on failure.
const { chromium } = require('playwright-core');

const [url, text, expected, screenshot] = process.argv.slice(2);
const SELECTORS = {
  compose: '[data-lexical-editor="true"][contenteditable="true"]',
  send: 'button[aria-label="Send Message"]',
  botMessage: '.fai-OutputCard',
};

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'sv-SE' });
    // The UI asks a CDN for fonts; there is no internet here, so fail those at once.
    await page.route(/^https?:\/\/(?!127\.0\.0\.1|localhost)/, (route) => route.abort());
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.locator(SELECTORS.compose).first().waitFor({ timeout: 30000 });
    await page.waitForTimeout(1500); // the install greeting arrives on every page load
    await page.locator(SELECTORS.compose).first().click();
    await page.keyboard.type(text);
    await page.locator(SELECTORS.send).click();
    const reply = page.locator(SELECTORS.botMessage, { hasText: expected }).last();
    await reply.waitFor({ timeout: 20000 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: screenshot });
    console.log(JSON.stringify({ ok: true, reply: (await reply.innerText()).trim() }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => { console.error(String(error)); process.exit(1); });
