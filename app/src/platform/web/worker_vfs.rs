//! SQLite's files in the browser, durably, through a storage worker (`storage-worker.js`).
//!
//! The one durable store a page can write synchronously lives in a dedicated worker: the
//! origin-private file system's access handles (`FileSystemSyncAccessHandle`, written in place
//! and flushed to disk). The screens, the
//! workspace and SQLite run on the page as on every other platform, so this VFS hands each
//! file operation (read, write, size, truncate, flush) to the worker through a
//! `SharedArrayBuffer` and waits for the answer. The wait is a spin on the page (browsers forbid
//! `Atomics.wait` there); an operation takes microseconds, a flush a few milliseconds.
//!
//! Why not the alternatives: running the workspace in the worker would make every screen
//! asynchronous and fork the code from the desktop's; a VFS that loads the whole database into
//! the page's memory would make start-up grow with the photos a tablet holds.
//!
//! The worker opens every file's access handle before the app starts. The handles are
//! exclusive, so a second tab of the app cannot open the database at all: it is told so before
//! anything is read (see `boot.js`). Where the browser has no access handles (WebKitGTK, some
//! private windows) the worker keeps the files in IndexedDB instead, through the same channel;
//! see `storage-worker.js` and [`unsaved`].
//!
//! The channel's layout (little-endian, as wasm and every browser are):
//! - bytes 0..32, `Int32Array`: `[state, op, slot, length, failed, message length, 0,
//!   closing]`, where `state` is 0 idle, 1 request waiting, 2 answered, and `closing` is set by
//!   the page as it goes away (`boot.js`);
//! - bytes 32..48, `Float64Array`: `[offset or size, result]`;
//! - bytes 48..56, `Int32Array`: the IndexedDB store's flushes, `[sent to the page, stored by
//!   the page]`;
//! - bytes 64.., the data of a read or write, or the message of a failure.

use std::cell::RefCell;

use js_sys::{Atomics, Float64Array, Int32Array, SharedArrayBuffer, Uint8Array};
use sqlite_wasm_rs::vfs::{
    AccessMode, LockLevel, MemChunksFile, OpenAccess, OpenOptions, OpenRequest, OpenedFile,
    SQLiteIoMethods, SQLiteVfs, SyncMode, SyncOptions, VfsError, VfsErrorCode, VfsFile, VfsResult,
    VfsStore, register_vfs,
};

/// The VFS's name, as [`super::connect`] opens it.
pub const VFS_NAME: &str = "accredit-worker";

/// Where the data area starts.
const DATA_AT: u32 = 64;
/// How long an operation may take before the storage is declared gone (an operation takes
/// microseconds, a flush milliseconds). Chromium pauses the worker first when a tab is closed
/// mid-operation, so the page spins until this runs out before it can close and let go of the
/// files (seen here: 1 close in about 20, soon after sign-in); 10 s keeps that wait short.
const GIVE_UP_MS: f64 = 10_000.0;

const OP_READ: i32 = 1;
const OP_WRITE: i32 = 2;
const OP_SIZE: i32 = 3;
const OP_TRUNCATE: i32 = 4;
const OP_FLUSH: i32 = 5;

struct Channel {
    ctl: Int32Array,
    /// The IndexedDB store's flushes: `[sent to the page, stored by the page]`.
    generations: Int32Array,
    nums: Float64Array,
    data: Uint8Array,
    capacity: usize,
    /// The files the worker holds, by name, in slot order.
    files: Vec<String>,
}

thread_local! {
    static CHANNEL: RefCell<Option<Channel>> = const { RefCell::new(None) };
}

/// Registers the VFS over the worker's channel. `files` are the names the worker opened, in
/// slot order; SQLite may open only those (the database and its journal).
pub fn install(buffer: &SharedArrayBuffer, files: Vec<String>) -> Result<(), String> {
    let total = buffer.byte_length();
    if total <= DATA_AT + 4096 {
        return Err("the storage channel is too small".to_owned());
    }
    let channel = Channel {
        ctl: Int32Array::new_with_byte_offset_and_length(buffer, 0, 8),
        generations: Int32Array::new_with_byte_offset_and_length(buffer, 48, 2),
        nums: Float64Array::new_with_byte_offset_and_length(buffer, 32, 2),
        data: Uint8Array::new_with_byte_offset_and_length(buffer, DATA_AT, total - DATA_AT),
        capacity: (total - DATA_AT) as usize,
        files,
    };
    CHANNEL.with(|c| *c.borrow_mut() = Some(channel));
    // SAFETY: registered once, on the only thread SQLite runs on, before any connection is
    // opened; the registration lives as long as the page.
    let registration = unsafe { register_vfs::<OpfsIo, OpfsVfs>(VFS_NAME, (), false) }
        .map_err(|e| e.to_string())?;
    let _ = registration.into_raw();
    Ok(())
}

fn io_error(code: VfsErrorCode, message: String) -> VfsError {
    VfsError::new(code, message.into())
}

/// Sends one operation to the worker and waits for its answer. `fill` writes the request's
/// data; `take` reads the answer's. Returns the worker's result number.
fn call(
    op: i32,
    slot: usize,
    offset: f64,
    length: usize,
    fill: impl FnOnce(&Uint8Array),
    take: impl FnOnce(&Uint8Array, usize),
    code: VfsErrorCode,
) -> VfsResult<f64> {
    CHANNEL.with(|c| {
        let c = c.borrow();
        let c = c
            .as_ref()
            .ok_or_else(|| io_error(code, "the storage worker is not running".to_owned()))?;
        // The page is going away and the worker has closed the files (see `boot.js`): say so at
        // once rather than wait for an answer that will not come.
        if c.ctl.get_index(7) != 0 {
            return Err(io_error(code, "the app is closing".to_owned()));
        }
        fill(&c.data);
        c.ctl.set_index(1, op);
        c.ctl.set_index(2, slot as i32);
        c.ctl.set_index(3, length as i32);
        c.ctl.set_index(4, 0);
        c.nums.set_index(0, offset);
        let failed = |e| io_error(code, format!("the storage channel failed: {e:?}"));
        Atomics::store(&c.ctl, 0, 1).map_err(failed)?;
        Atomics::notify(&c.ctl, 0).map_err(failed)?;
        let started = js_sys::Date::now();
        let mut spins: u32 = 0;
        while Atomics::load(&c.ctl, 0).map_err(failed)? != 2 {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(100_000) && js_sys::Date::now() - started > GIVE_UP_MS {
                return Err(io_error(
                    code,
                    "the browser's storage stopped answering; reload the page".to_owned(),
                ));
            }
        }
        let result = c.nums.get_index(1);
        let outcome = if c.ctl.get_index(4) != 0 {
            let n = (c.ctl.get_index(5).max(0) as usize).min(c.capacity);
            let mut text = vec![0u8; n];
            c.data.subarray(0, n as u32).copy_to(&mut text);
            Err(io_error(
                code,
                format!("browser storage: {}", String::from_utf8_lossy(&text)),
            ))
        } else {
            take(&c.data, result.max(0.0) as usize);
            Ok(result)
        };
        Atomics::store(&c.ctl, 0, 0).map_err(failed)?;
        outcome
    })
}

/// Whether a flush (the end of every commit) is not yet in the browser's storage. Always false
/// on the private file system, where each flush is on disk before it returns; with the
/// IndexedDB store, true from a flush until the page has written it.
pub fn unsaved() -> bool {
    CHANNEL.with(|c| {
        c.borrow().as_ref().is_some_and(|c| {
            let sent = Atomics::load(&c.generations, 0).unwrap_or(0);
            let stored = Atomics::load(&c.generations, 1).unwrap_or(0);
            sent != stored
        })
    })
}

fn capacity() -> usize {
    CHANNEL.with(|c| c.borrow().as_ref().map_or(4096, |c| c.capacity))
}

/// A file SQLite opened: one of the worker's, or an anonymous scratch file in memory.
pub enum OpfsFile {
    /// The worker's file in this slot.
    Slot(usize),
    /// A temporary file (none are expected: temp_store is MEMORY).
    Memory(MemChunksFile),
}

impl VfsFile for OpfsFile {
    fn read(&mut self, buf: &mut [u8], offset: u64) -> VfsResult<usize> {
        let slot = match self {
            OpfsFile::Slot(s) => *s,
            OpfsFile::Memory(m) => return m.read(buf, offset),
        };
        let cap = capacity();
        let mut done = 0;
        while done < buf.len() {
            let n = (buf.len() - done).min(cap);
            let target = &mut buf[done..done + n];
            let got = call(
                OP_READ,
                slot,
                (offset + done as u64) as f64,
                n,
                |_| {},
                |data, got| {
                    data.subarray(0, got.min(n) as u32)
                        .copy_to(&mut target[..got.min(n)])
                },
                VfsErrorCode::IoRead,
            )? as usize;
            done += got.min(n);
            if got < n {
                break;
            }
        }
        Ok(done)
    }

    fn write(&mut self, buf: &[u8], offset: u64) -> VfsResult<()> {
        let slot = match self {
            OpfsFile::Slot(s) => *s,
            OpfsFile::Memory(m) => return m.write(buf, offset),
        };
        let cap = capacity();
        let mut done = 0;
        while done < buf.len() {
            let n = (buf.len() - done).min(cap);
            let part = &buf[done..done + n];
            call(
                OP_WRITE,
                slot,
                (offset + done as u64) as f64,
                n,
                |data| data.subarray(0, n as u32).copy_from(part),
                |_, _| {},
                VfsErrorCode::IoWrite,
            )?;
            done += n;
        }
        Ok(())
    }

    fn truncate(&mut self, size: u64) -> VfsResult<()> {
        match self {
            OpfsFile::Slot(s) => call(
                OP_TRUNCATE,
                *s,
                size as f64,
                0,
                |_| {},
                |_, _| {},
                VfsErrorCode::IoTruncate,
            )
            .map(|_| ()),
            OpfsFile::Memory(m) => m.truncate(size),
        }
    }

    fn sync(&mut self, _options: SyncOptions) -> VfsResult<()> {
        match self {
            OpfsFile::Slot(s) => call(
                OP_FLUSH,
                *s,
                0.0,
                0,
                |_| {},
                |_, _| {},
                VfsErrorCode::IoSync,
            )
            .map(|_| ()),
            OpfsFile::Memory(_) => Ok(()),
        }
    }

    fn size(&self) -> VfsResult<u64> {
        match self {
            OpfsFile::Slot(s) => slot_size(*s),
            OpfsFile::Memory(m) => m.size(),
        }
    }

    // One connection in one tab: the access handles already exclude every other tab.
    fn lock(&mut self, _level: LockLevel) -> VfsResult<()> {
        Ok(())
    }

    fn unlock(&mut self, _level: LockLevel) -> VfsResult<()> {
        Ok(())
    }

    fn check_reserved_lock(&self) -> VfsResult<bool> {
        Ok(false)
    }
}

fn slot_size(slot: usize) -> VfsResult<u64> {
    call(
        OP_SIZE,
        slot,
        0.0,
        0,
        |_| {},
        |_, _| {},
        VfsErrorCode::IoStat,
    )
    .map(|n| n as u64)
}

fn slot_of(name: &str) -> Option<usize> {
    CHANNEL.with(|c| {
        c.borrow()
            .as_ref()
            .and_then(|c| c.files.iter().position(|f| f == name))
    })
}

struct OpfsStore;

impl VfsStore for OpfsStore {
    type File = OpfsFile;
    type AppData = ();

    fn open_file(_: &(), request: OpenRequest<'_>) -> VfsResult<OpenedFile<OpfsFile>> {
        let access = request.options.access();
        let Some(name) = request.filename else {
            return Ok(OpenedFile {
                file: OpfsFile::Memory(MemChunksFile::default()),
                access,
            });
        };
        let slot = slot_of(name.path()).ok_or_else(|| {
            io_error(
                VfsErrorCode::CantOpen,
                format!("{} is not one of the app's files", name.path()),
            )
        })?;
        Ok(OpenedFile {
            file: OpfsFile::Slot(slot),
            access: if access == OpenAccess::ReadOnly {
                OpenAccess::ReadOnly
            } else {
                OpenAccess::ReadWrite
            },
        })
    }

    fn close_file(
        _: &(),
        _name: Option<&str>,
        mut file: OpfsFile,
        options: OpenOptions,
    ) -> VfsResult<()> {
        if options.delete_on_close() && matches!(file, OpfsFile::Slot(_)) {
            file.truncate(0)?;
        }
        Ok(())
    }

    // A file "exists" when it holds something: a journal is emptied, never removed.
    fn access(_: &(), name: &str, _mode: AccessMode) -> VfsResult<bool> {
        match slot_of(name) {
            Some(slot) => Ok(slot_size(slot)? > 0),
            None => Ok(false),
        }
    }

    fn full_pathname(_: &(), name: &str) -> VfsResult<String> {
        Ok(name.to_owned())
    }

    fn delete_file(_: &(), name: &str, _sync_dir: bool) -> VfsResult<()> {
        if let Some(slot) = slot_of(name) {
            let mut file = OpfsFile::Slot(slot);
            file.truncate(0)?;
            file.sync(SyncOptions {
                mode: SyncMode::Full,
                data_only: false,
            })?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Default)]
struct OpfsIo;

impl SQLiteIoMethods for OpfsIo {
    type Store = OpfsStore;
}

#[derive(Clone, Copy, Default)]
struct OpfsVfs;

impl SQLiteVfs<OpfsIo> for OpfsVfs {
    type Os = sqlite_wasm_rs::WasmOsCallback;

    fn os(_: &()) -> &Self::Os {
        &sqlite_wasm_rs::WasmOsCallback
    }
}
