//! The web app in WebKit, Safari's engine (what every iPad browser runs): Debian's WebKitGTK
//! MiniBrowser driven through its WebDriver (`WebKitWebDriver`) under Xvfb.
//!
//! What WebKitGTK's automation allows here: the page, its module scripts, the service worker and
//! cross-origin isolation all work, but an automation session is always ephemeral (no data
//! directory), and WebKit gives an ephemeral session no origin-private file system. So the test
//! checks that WebKit starts the app's boot path, isolated, with its service worker, and that
//! without durable storage the app refuses plainly, instead of hanging or pretending to save.
//! Signing in and recording offline are covered in Chromium (`web_app.rs`); on an iPad, Safari
//! has the private file system (and shared memory, which WebKitGTK enables here through
//! `JSC_useSharedArrayBuffer`).

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

#[test]
fn in_webkit_the_app_boots_isolated_with_its_service_worker_and_refuses_plainly_without_storage() {
    assert!(
        web_app_dir().join("index.html").exists(),
        "the web app is not built: run scripts/build-web.sh (./scripts/test.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let x = Xvfb::landscape();
    let wk = WebKit::start(&x);
    wk.go(&format!("{}/app/", server.url));
    let message = wk.wait(
        "the app's start to finish",
        "const e = document.querySelector('.boot-error, #username'); return e && (e.id || e.textContent);",
    );
    let message = message.as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("refused its private file storage")
            && message.contains("open Accredit in a normal window"),
        "WebKit's ephemeral automation session has no private file system; the app must say so: {message}"
    );
    let isolated = wk.run(
        "return [window.crossOriginIsolated, typeof SharedArrayBuffer, window.isSecureContext]",
        json!([]),
    );
    assert_eq!(isolated, json!([true, "function", true]));
    // The service worker installed and keeps the app for offline starts.
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
}
