// Starts Accredit in the browser, in this order:
// 1. the service worker, which keeps the app available offline and brings updates;
// 2. the storage worker, which holds the database's files in the origin-private file system
//    (only a worker may write them durably; see app/src/platform/web/worker_vfs.rs), or in
//    IndexedDB where the browser offers no such files;
// 3. the app itself (WebAssembly), which opens the database through that worker.
// Anything that stops the start is said on the page in plain words.

const FILES = ['accredit.db', 'accredit.db-journal', 'accredit.db-wal'];
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

// The IndexedDB store, for browsers without the private file system's access handles (see
// storage-worker.js): one tab at a time (a Web Lock held while this page lives), the files read
// from IndexedDB and handed to the worker, and each flush's changes written back, in order.
const IDB_NAME = 'accredit-files';
const IDB_STORE = 'chunks';

function idbRequest(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

// Whether another page of the app is open (it holds a page lock; see startStorage).
async function anotherPageAlive(mine) {
  if (!navigator.locks || !navigator.locks.query) return true;
  const { held } = await navigator.locks.query();
  return held.some((l) => l.name.startsWith('accredit-page-') && l.name !== mine);
}

// Whether this device's work is already in IndexedDB (an earlier start took that store).
async function idbHoldsFiles() {
  if (!self.indexedDB) return false;
  if (indexedDB.databases) {
    const names = (await indexedDB.databases()).map((d) => d.name);
    if (!names.includes(IDB_NAME)) return false;
  }
  const open = indexedDB.open(IDB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(IDB_STORE);
  const db = await idbRequest(open);
  try {
    return (await idbRequest(db.transaction(IDB_STORE, 'readonly').objectStore(IDB_STORE).count())) > 0;
  } finally {
    db.close();
  }
}

async function keepInIndexedDb(worker, buffer) {
  if (!self.indexedDB) throw new Error('this browser has no IndexedDB');
  if (navigator.locks) {
    const held = await new Promise((resolve) => {
      navigator.locks.request('accredit-storage', { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock === null ? undefined : new Promise(() => {});
      });
    });
    if (!held) {
      const e = new Error('another tab holds the app\'s files');
      e.name = 'NoModificationAllowedError';
      throw e;
    }
  }
  const open = indexedDB.open(IDB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(IDB_STORE);
  const db = await idbRequest(open);
  // Keys: [slot, chunk index] for a chunk's bytes, [slot, -1] for the file's size.
  const images = FILES.map(() => ({ size: 0, chunks: [] }));
  const transfer = [];
  {
    const os = db.transaction(IDB_STORE, 'readonly').objectStore(IDB_STORE);
    const [keys, values] = await Promise.all([idbRequest(os.getAllKeys()), idbRequest(os.getAll())]);
    keys.forEach(([slot, index], n) => {
      if (!images[slot]) return;
      if (index === -1) images[slot].size = values[n];
      else { images[slot].chunks.push([index, values[n]]); transfer.push(values[n]); }
    });
  }
  const ready = new Promise((resolve) => {
    worker.onmessage = (e) => {
      if (e.data.persist) persist(e.data.persist);
      else resolve(e.data);
    };
  });
  // [flushes sent by the worker, flushes stored here]: see storage-worker.js.
  const generations = new Int32Array(buffer, 48, 2);
  // Each flush's changes in one transaction; IndexedDB runs them in the order they were made.
  let failed = null;
  function persist({ n, changes, sizes }) {
    try {
      const tx = db.transaction(IDB_STORE, 'readwrite');
      const os = tx.objectStore(IDB_STORE);
      for (const [slot, index, bytes] of changes) {
        if (bytes) os.put(bytes, [slot, index]);
        else os.delete([slot, index]);
      }
      sizes.forEach((size, slot) => os.put(size, [slot, -1]));
      tx.oncomplete = () => { if (!failed) Atomics.store(generations, 1, n); };
      tx.onabort = tx.onerror = () => { failed = tx.error || new Error('IndexedDB refused a write'); };
    } catch (e) {
      // The app keeps showing "Saving…": nothing claims this change is stored.
      failed = e;
    }
  }
  worker.postMessage({ load: images }, transfer);
  return ready;
}

async function startStorage() {
  if (!window.crossOriginIsolated || typeof SharedArrayBuffer === 'undefined') {
    throw new Error('this browser did not isolate the page, so the app cannot keep its data safely. Open Accredit from its https:// address in a current browser');
  }
  const buffer = new SharedArrayBuffer(CHANNEL_BYTES);
  // Held while this page lives: the storage worker learns from it that the page is gone even if
  // `pagehide` never runs, and lets go of the files (see storage-worker.js).
  const pageLock = navigator.locks ? 'accredit-page-' + crypto.randomUUID() : null;
  if (pageLock) {
    await new Promise((held) => navigator.locks.request(pageLock, () => { held(); return new Promise(() => {}); }));
  }
  const keptInIndexedDb = await idbHoldsFiles();
  let worker;
  let answer;
  // Just after a reload the previous page may still hold the files for a moment: try again
  // for a few seconds before concluding that another tab has them. If no other page of the app
  // is alive (no other page lock), the files are held by a closed page's worker that the
  // browser has not yet stopped (Chromium sometimes takes half a minute): wait for it, saying so.
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) {
      const waited = Date.now() - started;
      if (waited > 4000 && (await anotherPageAlive(pageLock) || waited > 90000)) break;
      if (waited > 2000) say('Accredit is waiting for its previous window to finish closing. This can take up to a minute; your work is safe.', false);
      await new Promise((r) => setTimeout(r, 100));
    }
    worker = new Worker(new URL('__WORKER__', import.meta.url));
    answer = await new Promise((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => resolve({ error: e.message || 'the storage worker did not start' });
      worker.postMessage({ buffer, files: FILES, keptInIndexedDb, pageLock });
    });
    if (answer.needsMemory) {
      const reason = answer.reason;
      try {
        answer = await keepInIndexedDb(worker, buffer);
        answer.fallbackReason = reason;
      } catch (e) {
        answer = { error: reason + '; and IndexedDB: ' + (e.message || e), name: e.name };
      }
    }
    if (!answer.error) break;
    worker.terminate();
    if (answer.name !== 'NoModificationAllowedError') break;
  }
  if (Date.now() - started > 2000) say('Starting Accredit…', false);
  if (answer.error) {
    if (answer.name === 'NoModificationAllowedError') {
      const e = new Error('Accredit is already open in another tab or window of this browser. Use that one, or close it and reload this page.');
      e.plain = true;
      throw e;
    }
    throw new Error('this browser offers neither private file storage nor IndexedDB to web apps (' + answer.error + '), so Accredit cannot keep your work safely. In private browsing there may be none: open Accredit in a normal window of a current Safari, Chrome or Edge');
  }
  // Ask that the browser never evict the app's data to free space; the sync centre says if
  // it refused.
  let persisted = false;
  try {
    if (navigator.storage && navigator.storage.persist) {
      persisted = await navigator.storage.persisted() || await navigator.storage.persist();
    }
  } catch (e) { /* reported as not persisted */ }
  // `mode` is 'opfs' (every flush on disk before the app goes on) or 'indexeddb' (written just
  // after; the app shows "Saving…" until it is, see storage-worker.js).
  window.accreditStorage = { buffer, files: FILES, worker, persisted, mode: answer.mode, fallbackReason: answer.fallbackReason };
  // For measuring starts (the web app bench): the files are open from here.
  performance.mark('accredit-storage-ready');
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
