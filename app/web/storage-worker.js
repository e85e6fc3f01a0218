// The storage worker: holds the app's database files and serves the page's file operations
// over shared memory (see app/src/platform/web/worker_vfs.rs for the channel's layout).
//
// The files live in the origin-private file system (OPFS): synchronous access handles, written
// in place and flushed to disk, which only a dedicated worker may use. The handles are
// exclusive, so a second tab of the app cannot open the files, and is told so.
//
// There is deliberately no fallback to IndexedDB: in WebKit a worker's IndexedDB requests pass
// through the page's thread, which is waiting for the answer, so a flush would never finish;
// and a store that cannot flush cannot promise that what the screen shows is saved.

const CHUNK = 64 * 1024;

onmessage = async (event) => {
  const { buffer, files } = event.data;
  let store;
  try {
    store = await openOpfs(files);
  } catch (err) {
    postMessage({ error: String(err.message || err), name: err && err.name });
    return;
  }
  postMessage({ ready: true });
  serve(buffer, store);
};

async function openOpfs(files) {
  const handles = [];
  let step = 'opening the private file system';
  try {
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
    close: () => {
      for (const h of handles) {
        try { h.flush(); h.close(); } catch (e) { /* closing anyway */ }
      }
    },
  };
}

function channel(buffer) {
  return {
    ctl: new Int32Array(buffer, 0, 8),
    nums: new Float64Array(buffer, 32, 2),
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
function serve(buffer, store) {
  const ch = channel(buffer);
  for (;;) {
    if (Atomics.load(ch.ctl, 7) === 1) {
      store.close();
      self.close();
      return;
    }
    const state = Atomics.load(ch.ctl, 0);
    if (state !== 1) {
      Atomics.wait(ch.ctl, 0, state, 250);
      continue;
    }
    handle(ch, store);
  }
}
