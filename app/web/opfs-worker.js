// The storage worker: holds the app's database files in the origin-private file system and
// serves the page's file operations over shared memory (see app/src/platform/web/opfs.rs for
// the channel's layout). Only a dedicated worker may use synchronous access handles, the one
// way to write those files durably (flush). The handles are exclusive: a second tab of the app
// cannot open them, and is told so.

onmessage = async (event) => {
  const { buffer, files } = event.data;
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
    postMessage({ error: `${step}: ${String((err && err.message) || err)}`, name: err && err.name });
    return;
  }
  postMessage({ ready: true });
  serve(buffer, handles);
};

function serve(buffer, handles) {
  const ctl = new Int32Array(buffer, 0, 8);
  const nums = new Float64Array(buffer, 32, 2);
  const data = new Uint8Array(buffer, 64);
  const encoder = new TextEncoder();
  // The handles read and write plain memory; the channel's is shared, so data is copied.
  let scratch = new Uint8Array(64 * 1024);
  const room = (n) => {
    if (scratch.length < n) scratch = new Uint8Array(n);
    return scratch.subarray(0, n);
  };
  for (;;) {
    const state = Atomics.load(ctl, 0);
    if (state !== 1) {
      Atomics.wait(ctl, 0, state);
      continue;
    }
    const op = ctl[1], slot = ctl[2], length = ctl[3], at = nums[0];
    try {
      const h = handles[slot];
      if (!h) throw new Error('no file in slot ' + slot);
      let result = 0;
      switch (op) {
        case 1: { // read
          const view = room(length);
          let n = 0;
          while (n < length) {
            const got = h.read(view.subarray(n), { at: at + n });
            if (got <= 0) break;
            n += got;
          }
          data.set(view.subarray(0, n));
          result = n;
          break;
        }
        case 2: { // write
          const view = room(length);
          view.set(data.subarray(0, length));
          let n = 0;
          while (n < length) {
            const put = h.write(view.subarray(n), { at: at + n });
            if (put <= 0) throw new Error('the disk accepted nothing');
            n += put;
          }
          result = n;
          break;
        }
        case 3: result = h.getSize(); break;
        case 4: h.truncate(at); break;
        case 5: h.flush(); break;
        default: throw new Error('unknown operation ' + op);
      }
      nums[1] = result;
      ctl[4] = 0;
    } catch (err) {
      const full = err && err.name === 'QuotaExceededError';
      const text = full ? 'the device is out of storage space' : String((err && err.message) || err);
      const bytes = encoder.encode(text).subarray(0, 1024);
      data.set(bytes);
      ctl[5] = bytes.length;
      ctl[4] = 1;
    }
    Atomics.store(ctl, 0, 2);
    Atomics.notify(ctl, 0);
  }
}
