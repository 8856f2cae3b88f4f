// Drives the dashboard of a running `falkorsync serve` in headless Chromium:
// the page loads, the WebSocket connects, a click on #btn-full asks for the
// API token, retries with it, and the run shows up live (running -> idle, a
// new row in #runs) from WebSocket events alone; stop/start continuous; a
// screenshot at the end. Prints one line per check, then "N passed, N failed".
// Env: DASH_URL (http://127.0.0.1:PORT), PW_MODULES (node_modules holding
// playwright-core), API_TOKEN, SCREENSHOT (png path), ENTITIES (expected
// Entity count), CHROMIUM (default /usr/bin/chromium).
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const env = (k, d) => process.env[k] ?? d;
const BASE = env("DASH_URL");
const TOKEN = env("API_TOKEN", "");
const SHOT = env("SCREENSHOT", "dashboard.png");
const ENTITIES = env("ENTITIES", "");
const { chromium } = createRequire(path.join(env("PW_MODULES"), "x.js"))("playwright-core");
const T = 60000; // per wait; a full sync of the test graph takes a few seconds

let passed = 0, failed = 0;
function check(cond, what) {
    if (cond) {
        passed++;
        console.log("ok   " + what);
    } else {
        failed++;
        console.log("FAIL " + what);
    }
}

const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "falkorsync-chromium-"));
const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: env("CHROMIUM", "/usr/bin/chromium"),
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = browser.pages()[0] || (await browser.newPage());

const pageErrors = [], consoleErrors = [], frames = [], requests = [];
page.on("pageerror", (e) => pageErrors.push(e.message));
page.on("console", (m) => {
    // Chromium asks for /favicon.ico: a 404, the page has none (a data: icon would break the CSP).
    if (m.type() === "error" && !/\/favicon\.ico$/.test(m.location().url || "")) consoleErrors.push(m.text());
});
page.on("request", (r) => requests.push({ t: Date.now(), url: r.url() }));
page.on("websocket", (ws) => ws.on("framereceived", (f) => {
    try {
        frames.push({ t: Date.now(), ...JSON.parse(f.payload) });
    } catch {
        frames.push({ bad: String(f.payload) });
    }
}));

const text = (sel) => page.locator(sel).textContent();
// Waits until fn(arg) is true in the page; a timeout names what was awaited.
async function until(what, fn, arg, timeout = T) {
    try {
        await page.waitForFunction(fn, arg, { timeout });
    } catch {
        const state = JSON.stringify(await text("#state")), msg = JSON.stringify(await text("#msg"));
        throw new Error(`timed out waiting for ${what} (#state ${state}, #msg ${msg})`);
    }
}
const waitText = (sel, re, timeout = T) => until(sel + " ~ " + re,
    ([s, r]) => new RegExp(r).test(document.querySelector(s)?.textContent || ""), [sel, re.source], timeout);
const idle = () => until("#state idle", () => document.getElementById("state").dataset.state === "idle");
const postFull = () => page.waitForResponse(
    (r) => r.url().endsWith("/api/sync/full") && r.request().method() === "POST", { timeout: T });

try {
    await page.goto(BASE + "/", { waitUntil: "load" });
    check((await page.title()) === "falkorsync", "the page loads (title falkorsync)");
    await waitText("#conn", /^connected$/);
    check(true, "the WebSocket connects");
    await until("#state idle or running",
        () => ["idle", "running"].includes(document.getElementById("state").dataset.state));
    check(frames.length > 0 && frames[0].event === "status" && typeof frames[0].data?.state === "string",
        "the first WebSocket message is a status event");
    check((await page.locator("#progress").evaluate((e) => e.tagName)) === "PROGRESS", "#progress is a <progress>");

    await until("nine rows in #types", () => document.querySelectorAll("#types tr").length === 9);
    const types = await page.$$eval("#types tr", (rows) => rows.map((r) => r.dataset.type));
    check(types.join() === "Entity,Episodic,Community,Saga,RELATES_TO,MENTIONS,HAS_MEMBER,HAS_EPISODE,NEXT_EPISODE",
        "#types lists the nine Graphiti types");

    // The service did a full sync at startup (empty cache): wait until it is idle.
    await idle();
    await until("a row in #runs", () => document.querySelectorAll("#runs tr").length >= 1);
    check(true, "idle, with the startup run in #runs");

    // From now on, record what the page shows as state and progress.
    await page.evaluate(() => {
        window.__seen = [];
        const st = document.getElementById("state"), pt = document.getElementById("progress-text");
        const note = () => window.__seen.push(st.textContent + "|" + pt.textContent);
        for (const el of [st, pt]) {
            new MutationObserver(note).observe(el, { childList: true, characterData: true, subtree: true });
        }
    });
    const clickAt = Date.now();

    // Click "Full sync": with a token configured the page asks for it, keeps it, retries.
    let accepted = null;
    for (let attempt = 0; attempt < 10 && !accepted; attempt++) {
        const answer = postFull();
        await page.click("#btn-full", { timeout: T }); // waits while the button is disabled (a run in progress)
        let r = await answer;
        if (r.status() === 401) {
            check(!!TOKEN, "401 without a token, and the page asks for it");
            await page.waitForSelector("#auth:not([hidden])", { timeout: 5000 });
            const retry = postFull();
            await page.fill("#token", TOKEN);
            await page.click("#auth button[type=submit]");
            r = await retry;
            check((r.request().headers().authorization || "") === "Bearer " + TOKEN,
                "the retry carries Authorization: Bearer <token>");
            check((await page.evaluate(() => sessionStorage.getItem("falkorsync.token"))) === TOKEN,
                "the token is kept in sessionStorage");
            check(await page.locator("#auth").isHidden(), "the token form closes");
        }
        if (r.status() === 202) {
            accepted = await r.json();
        } else if (r.status() === 409) { // a continuous run started in between: the page says so; try again
            await waitText("#msg", /in progress/, 5000);
            await idle();
        } else {
            throw new Error("POST /api/sync/full answered " + r.status());
        }
    }
    check(accepted?.accepted === true && accepted.mode === "full", "POST /api/sync/full accepted: " + JSON.stringify(accepted));
    const runId = accepted.run_id;
    await waitText("#msg", new RegExp("accepted: run #" + runId));

    // The run appears in #runs and the state goes back to idle, from WebSocket events.
    await until(`run #${runId} in #runs`, (id) => !!document.querySelector(`#runs tr[data-run-id="${id}"]`), runId);
    await idle();
    const cells = await page.locator(`#runs tr[data-run-id="${runId}"] td`).allTextContents();
    check(cells[1] === "full" && cells[2] === "success", `#runs has run #${runId}: ${cells.slice(0, 5).join(" | ")}`);
    const seen = await page.evaluate(() => window.__seen);
    const iRun = seen.findIndex((x) => x.startsWith("running|full run #" + runId + ":"));
    const iIdle = seen.findIndex((x, i) => i > iRun && x.startsWith("idle|full run #" + runId + " success"));
    check(iRun >= 0 && iIdle > iRun, `the page showed run #${runId} running, then idle: ${seen[iRun]} -> ${seen[iIdle]}`);
    const started = frames.find((f) => f.event === "sync_started" && f.data.run_id === runId);
    const done = frames.find((f) => f.event === "sync_completed" && f.data.run_id === runId);
    check(started && done && done.t >= started.t, "the WebSocket sent sync_started and sync_completed for run #" + runId);
    const events = frames.filter((f) => f.event !== "status");
    check(events.every((f) => typeof f.ts === "string" && !Number.isNaN(Date.parse(f.ts))), "every event has an RFC 3339 ts");
    const polls = requests.filter((q) => q.t >= clickAt && q.url.includes("/api/sync/status"));
    check(polls.length === 0, "no status polling while the WebSocket is up (" + polls.length + " polls)");
    // The next interval run (every 2 s) may already have begun and reset the bar: then there
    // is nothing left to look at for this one.
    const later = (await page.evaluate(() => window.__seen)).some((x) => {
        const m = x.match(/^running\|\w+ run #(\d+)/);
        return m && Number(m[1]) > runId;
    });
    check(later || await page.locator("#progress").evaluate((p) => p.value === p.max),
        "#progress is full after the run" + (later ? " (or a later run has begun)" : ""));

    // Counts per type: after a full sync both sides hold the same items.
    if (ENTITIES) {
        await until(`Entity ${ENTITIES} on both sides in #types`, (n) => {
            const tds = document.querySelectorAll('#types tr[data-type="Entity"] td');
            return tds.length >= 2 && tds[0].textContent.replace(/,/g, "") === n && tds[1].textContent.replace(/,/g, "") === n;
        }, ENTITIES);
        check(true, `#types: Entity ${ENTITIES} in Neo4j and FalkorDB`);
    }
    await until("#rate and #lag",
        () => /\d/.test(document.getElementById("rate").textContent) && document.getElementById("lag").textContent !== "–");
    check(true, `#rate "${await text("#rate")}", #lag "${await text("#lag")}"`);
    await until("two chart points", () => document.getElementById("line-rate").getAttribute("points").split(" ").length >= 2);
    check(true, "the chart has points");

    // Stop and start continuous sync: the buttons follow the state_changed event.
    await page.click("#btn-stop", { timeout: T });
    await waitText("#continuous", /^off$/);
    check(await page.locator("#btn-start").isEnabled(), "stop: continuous off, #btn-start enabled");
    check(frames.some((f) => f.event === "state_changed" && f.data.continuous === false),
        "state_changed {continuous:false} on the WebSocket");
    await page.click("#btn-start", { timeout: T });
    await waitText("#continuous", /^on/);
    check(await page.locator("#btn-stop").isEnabled(), "start: continuous on, #btn-stop enabled");

    await page.screenshot({ path: SHOT, fullPage: true });
    check(fs.statSync(SHOT).size > 10000, "screenshot " + SHOT);
} catch (e) {
    failed++;
    console.log("FAIL " + e.message.split("\n")[0]);
    try {
        await page.screenshot({ path: SHOT.replace(/\.png$/, "-failed.png"), fullPage: true });
    } catch {
        // the page is gone; the message above says why
    }
}
const unexpected = consoleErrors.filter((m) => !/status of (401|409)/.test(m)); // answers the page handles
check(pageErrors.length === 0, "no script errors " + JSON.stringify(pageErrors));
check(unexpected.length === 0, "no console errors " + JSON.stringify(unexpected));
await browser.close();
fs.rmSync(userDir, { recursive: true, force: true });
console.log(`dashboard: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
