// The storage worker: holds the app's database files and serves the page's file operations
// over shared memory (see app/src/platform/web/worker_vfs.rs for the channel's layout).
//
// Where the files live:
// - In the origin-private file system (OPFS), through synchronous access handles, written in
//   place and flushed to disk; only a dedicated worker may use them. The handles are exclusive,
//   so a second tab of the app cannot open the files, and is told so. Every current browser
//   (Safari 17+, Chrome, Edge, Firefox) offers this in a normal window.
// - Where it does not (WebKitGTK, some private windows), in IndexedDB, through the page: the
//   page reads the files from IndexedDB at start and hands them to this worker, which answers
//   every operation from memory and, at each flush, posts what changed back to the page, which
//   writes it to IndexedDB in one transaction. Neither side can wait for IndexedDB while SQLite
//   runs (in WebKit even a worker's IndexedDB requests pass through the page's thread, which is
//   waiting), so the channel says whether a flush is not yet stored (bytes 48..56: flushes sent
//   and flushes stored), and the app shows "Saving…" until every one is. SQLite promises
//   nothing before a flush (each commit ends with one), so writes not yet flushed do not count.
//   A Web Lock held by the page keeps a second tab out.

const CHUNK = 64 * 1024;

let memory = null;

onmessage = async (event) => {
  // The page's answer for the IndexedDB store: the files to start from.
  if (event.data.load) {
    memory.store.load(event.data.load);
    postMessage({ ready: true, mode: 'indexeddb' });
    serve(memory.buffer, memory.store);
    return;
  }
  const { buffer, files, keptInIndexedDb, pageLock } = event.data;
  watchPage(pageLock);
  // Serves the files from memory, kept in IndexedDB by the page.
  const inMemory = (reason) => {
    memory = { buffer, store: memoryStore(files.length, channel(buffer)) };
    postMessage({ needsMemory: true, reason });
  };
  // A device whose work is in IndexedDB stays there, even if the browser has since gained
  // access handles: the work must never be split between two stores.
  if (keptInIndexedDb) {
    inMemory('the work on this device is kept in IndexedDB');
    return;
  }
  let store;
  try {
    store = await openOpfs(files);
  } catch (err) {
    // Only a browser that cannot give access handles at all moves to IndexedDB. Anything else
    // (another tab holding the files, a passing failure) is said as it is: starting on an empty
    // second store would hide the monitor's work.
    if (err && err.lacking) inMemory(String(err.message || err));
    else postMessage({ error: String((err && err.message) || err), name: err && err.name });
    return;
  }
  postMessage({ ready: true, mode: 'opfs' });
  serve(buffer, store);
};

async function openOpfs(files) {
  const handles = [];
  let step = 'opening the private file system';
  try {
    if (!navigator.storage || !navigator.storage.getDirectory) throw new Error('this browser has none');
    const root = await navigator.storage.getDirectory();
    step = 'opening the app\'s folder';
    const dir = await root.getDirectoryHandle('accredit', { create: true });
    for (const name of files) {
      step = `opening ${name}`;
      const file = await dir.getFileHandle(name, { create: true });
      step = `taking ${name} for writing`;
      handles.push(await file.createSyncAccessHandle());
    }
  } catch (err) {
    for (const h of handles) { try { h.close(); } catch (e) { /* closing anyway */ } }
    const e = new Error(`${step}: ${String((err && err.message) || err)}`);
    e.name = err && err.name;
    // What the browser cannot do at all: no private file system here (WebKit's ephemeral and
    // private sessions refuse it), or no synchronous access handles (WebKitGTK).
    e.lacking = step === 'opening the private file system'
      || typeof FileSystemFileHandle === 'undefined'
      || typeof FileSystemFileHandle.prototype.createSyncAccessHandle !== 'function'
      || (e.name === 'NotSupportedError' && step.startsWith('taking '));
    throw e;
  }
  let scratch = new Uint8Array(CHUNK);
  const room = (n) => {
    if (scratch.length < n) scratch = new Uint8Array(n);
    return scratch.subarray(0, n);
  };
  return {
    // The handles read and write plain memory; the channel's is shared, so data is copied.
    read(slot, data, at, length) {
      const view = room(length);
      let n = 0;
      while (n < length) {
        const got = handles[slot].read(view.subarray(n), { at: at + n });
        if (got <= 0) break;
        n += got;
      }
      data.set(view.subarray(0, n));
      return n;
    },
    write(slot, data, at, length) {
      const view = room(length);
      view.set(data.subarray(0, length));
      let n = 0;
      while (n < length) {
        const put = handles[slot].write(view.subarray(n), { at: at + n });
        if (put <= 0) throw new Error('the disk accepted nothing');
        n += put;
      }
      return n;
    },
    size: (slot) => handles[slot].getSize(),
    truncate: (slot, size) => { handles[slot].truncate(size); },
    flush: (slot) => { handles[slot].flush(); },
    // Each handle is let go even if another, or its own flush, fails: a handle left open keeps
    // the next start of the app out of its files.
    close: () => {
      for (const h of handles) {
        try { h.flush(); } catch (e) { /* closing anyway */ }
        try { h.close(); } catch (e) { /* closed already */ }
      }
    },
  };
}

// The files in memory, as 64 KiB chunks, with what changed since the last flush. At each flush
// the changed chunks (copies) and sizes go to the page in one message, numbered; the page writes
// each message in one IndexedDB transaction, in order, so IndexedDB always holds the files as
// they were at a flush: a state SQLite recovers from as from a crash at that moment.
function memoryStore(count, ch) {
  const files = Array.from({ length: count }, () => ({ chunks: [], size: 0, dirty: new Set() }));
  let changedSince = false;
  const touch = (f, index) => {
    f.dirty.add(index);
    changedSince = true;
  };
  return {
    load(images) {
      images.forEach((image, slot) => {
        files[slot].size = image.size;
        for (const [index, buffer] of image.chunks) files[slot].chunks[index] = new Uint8Array(buffer);
      });
    },
    read(slot, data, at, length) {
      const f = files[slot];
      const end = Math.min(at + length, f.size);
      let n = 0;
      for (let pos = at; pos < end;) {
        const index = Math.floor(pos / CHUNK);
        const within = pos - index * CHUNK;
        const take = Math.min(CHUNK - within, end - pos);
        const chunk = f.chunks[index];
        if (chunk) data.set(chunk.subarray(within, within + take), n);
        else data.fill(0, n, n + take);
        n += take;
        pos += take;
      }
      return n;
    },
    write(slot, data, at, length) {
      const f = files[slot];
      for (let n = 0; n < length;) {
        const pos = at + n;
        const index = Math.floor(pos / CHUNK);
        const within = pos - index * CHUNK;
        const take = Math.min(CHUNK - within, length - n);
        if (!f.chunks[index]) f.chunks[index] = new Uint8Array(CHUNK);
        f.chunks[index].set(data.subarray(n, n + take), within);
        touch(f, index);
        n += take;
      }
      if (at + length > f.size) f.size = at + length;
      return length;
    },
    size: (slot) => files[slot].size,
    truncate(slot, size) {
      const f = files[slot];
      const keep = Math.ceil(size / CHUNK);
      for (let i = keep; i < f.chunks.length; i++) {
        if (f.chunks[i]) touch(f, i);
        delete f.chunks[i];
      }
      f.chunks.length = Math.min(f.chunks.length, keep);
      if (keep > 0 && size % CHUNK !== 0 && f.chunks[keep - 1]) {
        f.chunks[keep - 1].fill(0, size % CHUNK);
        touch(f, keep - 1);
      }
      f.size = size;
      changedSince = true;
    },
    // Answered at once: the page writes the changes to IndexedDB as soon as SQLite lets it run.
    flush() {
      if (!changedSince) return;
      const changes = [];
      const transfer = [];
      files.forEach((f, slot) => {
        for (const index of f.dirty) {
          const chunk = f.chunks[index];
          const copy = chunk && index * CHUNK < f.size ? chunk.slice().buffer : null;
          if (copy) transfer.push(copy);
          changes.push([slot, index, copy]);
        }
        f.dirty.clear();
      });
      const sizes = files.map((f) => f.size);
      const n = Atomics.add(ch.generations, 0, 1) + 1;
      changedSince = false;
      postMessage({ persist: { n, changes, sizes } }, transfer);
    },
    close() {},
  };
}

function channel(buffer) {
  return {
    ctl: new Int32Array(buffer, 0, 8),
    nums: new Float64Array(buffer, 32, 2),
    // The IndexedDB store's flushes: [sent to the page, stored by the page].
    generations: new Int32Array(buffer, 48, 2),
    data: new Uint8Array(buffer, 64),
    encoder: new TextEncoder(),
  };
}

// Runs one request; the result or the failure goes back through the channel.
function handle(ch, store) {
  const { ctl, nums, data } = ch;
  const op = ctl[1], slot = ctl[2], length = ctl[3], at = nums[0];
  const answer = () => {
    Atomics.store(ctl, 0, 2);
    Atomics.notify(ctl, 0);
  };
  const ok = (result) => {
    nums[1] = result;
    ctl[4] = 0;
    answer();
  };
  const fail = (err) => {
    const full = err && err.name === 'QuotaExceededError';
    const text = full ? 'the device is out of storage space' : String((err && err.message) || err);
    const bytes = ch.encoder.encode(text).subarray(0, 1024);
    data.set(bytes);
    ctl[5] = bytes.length;
    ctl[4] = 1;
    answer();
  };
  try {
    switch (op) {
      case 1: return ok(store.read(slot, data, at, length));
      case 2: return ok(store.write(slot, data, at, length));
      case 3: return ok(store.size(slot));
      case 4: store.truncate(slot, at); return ok(0);
      case 5: store.flush(slot); return ok(0);
      default: throw new Error('unknown operation ' + op);
    }
  } catch (err) {
    return fail(err);
  }
}

// Every operation is synchronous, so the worker blocks between requests. It wakes now and then
// to see whether the page is going away (word 7 of the channel): then it closes the files at
// once, so the next start of the app finds them free even if the browser keeps this page (and
// this worker) alive in its back/forward cache.
//
// The page may also go without its `pagehide` ever running (a tab closed while busy): then the
// page's Web Lock (see `watchPage`) is released by the browser, and the worker, which looks at
// its event loop whenever a wait times out, lets go of the files at once instead of holding them
// until it is collected.
let pageGone = false;

async function serve(buffer, store) {
  const ch = channel(buffer);
  for (;;) {
    if (Atomics.load(ch.ctl, 7) === 1 || pageGone) {
      store.close();
      self.close();
      return;
    }
    const state = Atomics.load(ch.ctl, 0);
    if (state !== 1) {
      if (Atomics.wait(ch.ctl, 0, state, 250) === 'timed-out') {
        await new Promise((r) => setTimeout(r, 0));
      }
      continue;
    }
    handle(ch, store);
  }
}

// Waits for the page's lock: granted to this worker only once the page that holds it is gone.
function watchPage(lock) {
  if (!lock || !navigator.locks) return;
  navigator.locks.request(lock, () => { pageGone = true; });
}
