//! The web app in WebKit, Safari's engine (what every iPad browser runs): Debian's WebKitGTK
//! MiniBrowser driven through its WebDriver (`WebKitWebDriver`) under Xvfb.
//!
//! An automation session of WebKitGTK is always ephemeral, and WebKitGTK has no synchronous
//! access handles in the origin-private file system even with a data directory, so here the app
//! keeps its files in IndexedDB (the storage worker's second store; Safari on an iPad uses the
//! private file system). The test signs in, goes offline (the server stops), records a score,
//! waits until the app says it is saved, reloads from the service worker, and finds the score.
//! Shared memory is enabled in WebKitGTK through `JSC_useSharedArrayBuffer`, as Safari has it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accredit_e2e::{Server, Xvfb, web_app_dir};
use serde_json::{Value, json};

const MINIBROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/// A WebDriver session with WebKit, over the W3C protocol.
struct WebKit {
    driver: Child,
    base: String,
    session: String,
}

impl WebKit {
    fn start(x: &Xvfb) -> WebKit {
        assert!(
            Path::new(MINIBROWSER).exists(),
            "WebKitGTK's MiniBrowser is missing (apt package libwebkit2gtk-4.1-0)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("WebKitWebDriver")
            .arg(format!("--port={port}"))
            .env("DISPLAY", &x.display)
            .env("JSC_useSharedArrayBuffer", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("WebKitWebDriver is needed (apt package webkit2gtk-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "WebKitWebDriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut w = WebKit {
            driver,
            base,
            session: String::new(),
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "webkitgtk:browserOptions": {"binary": MINIBROWSER, "args": ["--automation", "--features=+FileSystem,+StorageAPI,+StorageAPIEstimate"]}
        }}});
        let v = w.call("POST", "/session", caps);
        w.session = v["sessionId"].as_str().expect("a session").to_owned();
        w
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{}", self.base, path);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut reply = match method {
            "GET" => agent.get(&url).call(),
            "DELETE" => agent.delete(&url).call(),
            _ => agent.post(&url).send_json(&body),
        }
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = reply.status().as_u16();
        let v: Value = reply.body_mut().read_json().unwrap_or(Value::Null);
        assert!(status < 300, "WebDriver {method} {path}: {status} {v}");
        v.get("value").cloned().unwrap_or(v)
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn go(&self, url: &str) {
        self.call("POST", &self.s("/url"), json!({ "url": url }));
    }

    fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            json!({ "script": script, "args": args }),
        )
    }

    /// Waits until `script` returns something truthy; returns it.
    fn wait(&self, what: &str, script: &str) -> Value {
        let until = Instant::now() + Duration::from_secs(40);
        loop {
            let v = self.run(script, json!([]));
            if !(v.is_null() || v == json!(false)) {
                return v;
            }
            if Instant::now() > until {
                let text = self.run(
                    "return document.body ? document.body.innerText : ''",
                    json!([]),
                );
                panic!("waited in vain for {what}; the page says:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for WebKit {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.call("DELETE", &self.s(""), Value::Null)
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl WebKit {
    /// The element `css` matches, once it is there.
    fn find(&self, css: &str) -> String {
        self.wait(
            css,
            &format!("return document.querySelector({}) !== null", json!(css)),
        );
        let v = self.call(
            "POST",
            &self.s("/element"),
            json!({"using": "css selector", "value": css}),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("an element for {css}: {v}"))
            .to_owned()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        // Centred, clear of the sticky top bar, as a monitor would have it before tapping.
        self.run(
            "arguments[0].scrollIntoView({block: 'center'})",
            json!([{ ELEMENT: e }]),
        );
        self.call("POST", &self.s(&format!("/element/{e}/click")), json!({}));
    }

    /// Saves what the window shows in `docs/screenshots/`.
    fn screenshot(&self, name: &str) {
        let shot = self.call("GET", &self.s("/screenshot"), Value::Null);
        let png = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            shot.as_str().expect("a screenshot"),
        )
        .unwrap();
        std::fs::write(
            accredit_e2e::workspace()
                .join("docs/screenshots")
                .join(name),
            png,
        )
        .unwrap();
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            json!({ "text": text }),
        );
    }
}

#[test]
fn in_webkit_a_score_recorded_offline_survives_a_reload() {
    assert!(
        web_app_dir().join("index.html").exists(),
        "the web app is not built: run scripts/build-web.sh (./scripts/test.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::demo(dir.path());
    let x = Xvfb::landscape();
    let wk = WebKit::start(&x);
    wk.go(&format!("{}/app/", server.url));
    wk.find("#username");
    let isolated = wk.run(
        "return [window.crossOriginIsolated, typeof SharedArrayBuffer, window.isSecureContext, window.accreditStorage.mode]",
        json!([]),
    );
    assert_eq!(
        isolated,
        json!([true, "function", true, "indexeddb"]),
        "isolated, with the IndexedDB store (WebKitGTK has no access handles)"
    );
    wk.type_into("#username", "monitor1");
    wk.type_into("#password", "accredit-demo");
    wk.click("#sign-in");
    wk.find("#caseload");
    // The service worker keeps the app for offline starts.
    wk.wait(
        "the service worker to be active",
        "return navigator.serviceWorker && navigator.serviceWorker.controller === null ? (window.__swReady || (navigator.serviceWorker.ready.then(() => window.__swReady = true), false)) : true",
    );
    let cached = wk.call(
        "POST",
        &wk.s("/execute/async"),
        json!({"script": "const done = arguments[0]; caches.keys().then(async (keys) => { const c = await caches.open(keys[0]); done((await c.keys()).length); }, (e) => done(String(e)));", "args": []}),
    );
    assert!(
        cached.as_u64().is_some_and(|n| n >= 8),
        "the app's files are cached for offline starts: {cached}"
    );

    // Offline: the server is gone.
    let url = server.url.clone();
    server.kill();
    wk.click("[id^='location-']");
    wk.click("#start-visit");
    wk.find("#editor");
    let score = wk
        .run(
            "return document.querySelectorAll('.scores')[0].querySelectorAll('button')[2].id",
            json!([]),
        )
        .as_str()
        .expect("a score button")
        .to_owned();
    wk.click(&format!("#{score}"));
    wk.wait(
        "the score to show as chosen",
        &format!(
            "return document.getElementById({}).getAttribute('aria-pressed') === 'true'",
            json!(score)
        ),
    );
    // Saved: the page has written every flush to IndexedDB (the channel's count of flushes sent
    // and stored), and the editor says so.
    wk.wait(
        "every flush to be stored",
        "const g = new Int32Array(window.accreditStorage.buffer, 48, 2); return g[0] > 0 && g[0] === g[1]",
    );
    wk.wait(
        "the editor to say the change is saved",
        "const s = document.getElementById('save-state'); return s && s.dataset.saving === 'false'",
    );
    assert!(
        wk.run(
            "return document.getElementById('save-state').textContent",
            json!([])
        )
        .as_str()
        .is_some_and(|t| t.contains("saved on this tablet")),
    );

    // A reload, still offline: the service worker starts the app, which reads IndexedDB.
    wk.call("POST", &wk.s("/refresh"), json!({}));
    wk.click("[id^='location-']");
    wk.click("[id^='continue-']");
    wk.find("#editor");
    wk.wait(
        "the score recorded before the reload",
        &format!("const b = document.getElementById({}); return b && b.getAttribute('aria-pressed') === 'true'", json!(score)),
    );
    wk.screenshot("web-webkit-visit-after-reload.png");

    // A second tab of the app is refused while this one holds the files (a Web Lock here).
    let first = wk.call("GET", &wk.s("/window"), Value::Null);
    let second = wk.call("POST", &wk.s("/window/new"), json!({"type": "tab"}));
    wk.call(
        "POST",
        &wk.s("/window"),
        json!({ "handle": second["handle"] }),
    );
    wk.go(&format!("{}/app/", url));
    let refusal = wk.wait(
        "the second tab's refusal",
        "const e = document.querySelector('.boot-error'); return e && e.textContent",
    );
    assert!(
        refusal
            .as_str()
            .is_some_and(|t| t.contains("already open in another tab")),
        "{refusal}"
    );
    wk.call("DELETE", &wk.s("/window"), Value::Null);
    wk.call("POST", &wk.s("/window"), json!({ "handle": first }));
    wk.find("#editor");
    // The sync centre says where the work is kept, and what that means.
    wk.click("#nav-sync");
    let kind = wk.wait(
        "the storage report",
        "const e = document.getElementById('storage-kind'); return e && e.textContent",
    );
    assert!(
        kind.as_str().is_some_and(|t| t.contains("IndexedDB")),
        "{kind}"
    );
    wk.run(
        "document.getElementById('storage').scrollIntoView({block: 'center'})",
        json!([]),
    );
    wk.screenshot("web-webkit-sync-centre-indexeddb.png");
}
