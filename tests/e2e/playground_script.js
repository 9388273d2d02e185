// Drives the Microsoft 365 Agents Playground's web UI in headless Chromium through a whole script
// of chat turns, as a person would: type a message, or tick boxes, fill fields and press a button
// on the bot's last card; wait for the expected answer; take screenshots along the way.
// Usage: node playground_script.js <playground url> <script.json> <screenshot folder>
// A script is a list of turns:
//   {"say": "text", "expect": "text in the answer", "shot": "name.png"}
//   {"check": ["label", ...], "fill": {"label": "text"}, "press": "button title", "expect": ..., "shot": ...}
//     (no "expect": the answer changes no text, e.g. the same card with boxes ticked; wait 1.5 s)
//   {"wait": 120, "expect": "text"}  (seconds; a message the bot sends on its own, e.g. a notice)
//   add "anywhere": true to find the text in any message, also one that came with the page
//   {"open": "chat name", "shot": ...}  (switch to another conversation, e.g. the group chat)
//   {"count": "text"}  (replies with how many messages of the open chat hold the text, e.g. "1")
//   add "mention": "Korttid" to a "say" turn in a group chat: the Playground forwards a group
//   message to the bot only when it @mentions the bot (a mention entity, picked from the
//   editor's mention list; typing "@Korttid" as plain text is not one)
// Prints one JSON line: {"ok": true, "replies": ["...", ...]}; exits 1 on failure.
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const [url, scriptFile, shotDir] = process.argv.slice(2);
const SELECTORS = {
  compose: '[data-lexical-editor="true"][contenteditable="true"]',
  send: 'button[aria-label="Send Message"]',
  botMessage: '.fai-OutputCard',
  mentionList: '[role="listbox"], [role="menu"]',
};

async function sendText(page, text, mention) {
  await page.locator(SELECTORS.compose).first().click();
  if (mention) {
    await page.keyboard.type(`@${mention}`);
    await page.locator(SELECTORS.mentionList).getByText(mention, { exact: true }).first().click();
    await page.keyboard.type(' ');
  }
  await page.keyboard.type(text);
  await page.locator(SELECTORS.send).click();
}

// A text input by its exact label; date and time pickers are comboboxes named by their label.
async function fieldFor(card, label) {
  const exact = card.getByLabel(label, { exact: true });
  if ((await exact.count()) === 1) {
    return exact;
  }
  return card.getByRole('combobox', { name: label });
}

async function useCard(page, turn) {
  // The last card with that button: a meeting's one card is updated in place (issue 16), so
  // short text lines may follow it.
  const button = page.getByRole('button', { name: turn.press, exact: true });
  const card = page.locator(SELECTORS.botMessage).filter({ has: button }).last();
  for (const label of turn.check || []) {
    await card.getByText(label, { exact: true }).click(); // the label toggles its box
  }
  for (const [label, text] of Object.entries(turn.fill || {})) {
    const field = await fieldFor(card, label);
    await field.fill(text);
    await field.press('Tab'); // date and time pickers take typed text when they lose focus
  }
  await card.getByRole('button', { name: turn.press, exact: true }).click();
}

// The first message, new or updated in place since the turn began, that holds the expected text.
async function waitForReply(page, before, expected, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const texts = await page.locator(SELECTORS.botMessage).allInnerTexts();
    for (let index = 0; index < texts.length; index += 1) {
      const changed = index >= before.length || texts[index] !== before[index];
      if (changed && texts[index].includes(expected)) {
        return texts[index].trim();
      }
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no answer with "${expected}" within ${seconds} s`);
}

async function main() {
  const turns = JSON.parse(fs.readFileSync(scriptFile, 'utf8'));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const replies = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 }, locale: 'sv-SE' });
    // The UI asks a CDN for fonts; there is no internet here, so fail those at once.
    await page.route(/^https?:\/\/(?!127\.0\.0\.1|localhost)/, (route) => route.abort());
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.locator(SELECTORS.compose).first().waitFor({ timeout: 30000 });
    await page.waitForTimeout(1500); // the install greeting arrives on every page load
    for (const turn of turns) {
      if (turn.open !== undefined) {
        await page.getByText(turn.open, { exact: true }).first().click();
        await page.waitForTimeout(2500);
        if (turn.shot) {
          await page.screenshot({ path: path.join(shotDir, turn.shot) });
        }
        continue;
      }
      if (turn.count !== undefined) {
        const texts = await page.locator(SELECTORS.botMessage).allInnerTexts();
        replies.push(String(texts.filter((text) => text.includes(turn.count)).length));
        continue;
      }
      const before = turn.anywhere ? [] : await page.locator(SELECTORS.botMessage).allInnerTexts();
      if (turn.say !== undefined) {
        await sendText(page, turn.say, turn.mention);
      } else if (turn.press !== undefined) {
        await useCard(page, turn);
      }
      if (turn.expect === undefined) {
        // A press whose answer is the same card with the boxes as ticked: no text changes.
        await page.waitForTimeout(1500);
        replies.push('');
        if (turn.shot) {
          await page.screenshot({ path: path.join(shotDir, turn.shot) });
        }
        continue;
      }
      try {
        replies.push(await waitForReply(page, before, turn.expect, turn.wait || 20));
      } catch (error) {
        await page.screenshot({ path: path.join(shotDir, 'playground-failure.png') });
        throw error;
      }
      await page.waitForTimeout(400);
      if (turn.shot) {
        await page.screenshot({ path: path.join(shotDir, turn.shot) });
      }
    }
    console.log(JSON.stringify({ ok: true, replies }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => { console.error(String(error)); process.exit(1); });
