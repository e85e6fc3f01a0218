// Starts Accredit in the browser, in this order:
// 1. the service worker, which keeps the app available offline and brings updates;
// 2. the storage worker, which holds the database's files in the origin-private file system
//    (only a worker may write them durably; see app/src/platform/web/worker_vfs.rs);
// 3. the app itself (WebAssembly), which opens the database through that worker.
// Anything that stops the start is said on the page in plain words.

const FILES = ['accredit.db', 'accredit.db-journal'];
const CHANNEL_BYTES = 64 + 1024 * 1024;

function say(text, error) {
  const main = document.getElementById('main');
  main.textContent = '';
  const p = document.createElement('p');
  p.className = error ? 'boot-error' : 'boot-message';
  p.setAttribute('role', error ? 'alert' : 'status');
  p.textContent = text;
  main.append(p);
}

// A deployed update waits until the app is next opened, so nothing open is interrupted; the
// banner offers to restart into it at once. Work is in the database, which an update never
// touches: drafts made by the old version open in the new one.
function offerUpdate(registration) {
  const banner = document.getElementById('update-banner');
  banner.hidden = false;
  document.getElementById('update-now').onclick = () => {
    window.accreditRestarting = true;
    if (registration.waiting) registration.waiting.postMessage('skip-waiting');
  };
}

async function startServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  let registration;
  try {
    registration = await navigator.serviceWorker.register('sw.js', { scope: './' });
  } catch (e) {
    console.warn('Accredit works online only here: the service worker was refused', e);
    return;
  }
  // Only the monitor's "Restart now" reloads the page; the first install taking control of
  // this page changes nothing that is running.
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (window.accreditRestarting) {
      window.accreditRestarting = false;
      location.reload();
    }
  });
  // A new version found before the app started: this is the next start, so take it now.
  if (registration.waiting && navigator.serviceWorker.controller) {
    await new Promise((resolve) => {
      navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true });
      registration.waiting.postMessage('skip-waiting');
      setTimeout(resolve, 3000);
    });
  }
  const watch = (worker) => worker.addEventListener('statechange', () => {
    if (worker.state === 'installed' && navigator.serviceWorker.controller) offerUpdate(registration);
  });
  if (registration.installing) watch(registration.installing);
  registration.addEventListener('updatefound', () => watch(registration.installing));
  if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration);
  setInterval(() => registration.update().catch(() => {}), 30 * 60 * 1000);
}

async function startStorage() {
  if (!window.crossOriginIsolated || typeof SharedArrayBuffer === 'undefined') {
    throw new Error('this browser did not isolate the page, so the app cannot keep its data safely. Open Accredit from its https:// address in a current browser');
  }
  if (!navigator.storage || !navigator.storage.getDirectory) {
    throw new Error('this browser offers no private file storage to web apps (is it in private browsing?), so Accredit cannot keep your work safely. Use a current Safari, Chrome or Edge, not in private browsing');
  }
  const buffer = new SharedArrayBuffer(CHANNEL_BYTES);
  let worker;
  let answer;
  // Just after a reload the previous page may still hold the files for a moment: try again a
  // few times before concluding that another tab has them.
  for (let attempt = 0; attempt < 40; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
    worker = new Worker(new URL('__WORKER__', import.meta.url));
    answer = await new Promise((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => resolve({ error: e.message || 'the storage worker did not start' });
      worker.postMessage({ buffer, files: FILES });
    });
    if (!answer.error) break;
    worker.terminate();
    if (answer.name !== 'NoModificationAllowedError') break;
  }
  if (answer.error) {
    if (answer.name === 'NoModificationAllowedError') {
      const e = new Error('Accredit is already open in another tab or window of this browser. Use that one, or close it and reload this page.');
      e.plain = true;
      throw e;
    }
    if (String(answer.error).startsWith('opening the private file system')) {
      throw new Error('the browser refused its private file storage (' + answer.error + '). In private browsing there is none: open Accredit in a normal window');
    }
    throw new Error('this browser cannot give Accredit the file access it needs to keep your work safely (' + answer.error + '). Use Safari 17 or later, Chrome or Edge');
  }
  // Ask that the browser never evict the app's data to free space; the sync centre says if
  // it refused.
  let persisted = false;
  try {
    if (navigator.storage && navigator.storage.persist) {
      persisted = await navigator.storage.persisted() || await navigator.storage.persist();
    }
  } catch (e) { /* reported as not persisted */ }
  window.accreditStorage = { buffer, files: FILES, worker, persisted };
  // Leaving the page lets go of the files at once (the worker closes them), even if the browser
  // keeps the page in its back/forward cache. No file operation is half done at that moment:
  // each is a round trip the page waits for. A page brought back from that cache starts again.
  window.addEventListener('pagehide', () => {
    const ctl = new Int32Array(buffer, 0, 8);
    Atomics.store(ctl, 7, 1);
    Atomics.notify(ctl, 0);
  });
  window.addEventListener('pageshow', (e) => { if (e.persisted) location.reload(); });
}

async function start() {
  await startServiceWorker();
  try {
    await startStorage();
  } catch (e) {
    say(e.plain ? e.message : 'Accredit could not start: ' + e.message + '.', true);
    return;
  }
  const app = await import('__GLUE__');
  window.accreditStarted = true;
  await app.default({ module_or_path: new URL('__WASM__', import.meta.url) });
}

start().catch((e) => say('Accredit could not start: ' + (e && e.message ? e.message : e) + '.', true));
