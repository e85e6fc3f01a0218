//! The web app in WebKit, Safari's engine (what every iPad browser runs): Debian's WebKitGTK
//! MiniBrowser driven through its WebDriver (`WebKitWebDriver`) under Xvfb. The app loads, a
//! monitor signs in, the server goes away (no signal), a score is recorded, and it survives a
//! reload served by the service worker.

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

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            json!({"using": "css selector", "value": css}),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|id| id.as_str())
            .expect("an element id")
            .to_owned()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &self.s(&format!("/element/{id}/click")), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call(
            "POST",
            &self.s(&format!("/element/{id}/value")),
            json!({ "text": text }),
        );
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
fn in_webkit_the_app_signs_in_and_keeps_a_score_recorded_offline_across_a_reload() {
    assert!(
        web_app_dir().join("index.html").exists(),
        "the web app is not built: run scripts/build-web.sh (./scripts/test.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::demo(dir.path());
    let x = Xvfb::landscape();
    let wk = WebKit::start(&x);
    wk.go(&format!("{}/app/", server.url));
    println!("probe: {}", wk.run("return [String(window.crossOriginIsolated), typeof SharedArrayBuffer, String(window.isSecureContext), String(!!(navigator.storage && navigator.storage.getDirectory)), navigator.userAgent]", json!([])));
    wk.wait(
        "the sign-in screen",
        "return document.getElementById('username') !== null",
    );
    wk.type_into("#username", "monitor1");
    wk.type_into("#password", "accredit-demo");
    wk.click("#sign-in");
    wk.wait(
        "the caseload",
        "return document.getElementById('caseload') !== null",
    );
    wk.wait(
        "the service worker",
        "return navigator.serviceWorker && navigator.serviceWorker.controller !== null",
    );

    // No signal from here on: the server is gone.
    server.kill();
    wk.click("[id^='location-']");
    wk.wait(
        "the location",
        "return document.getElementById('start-visit') !== null",
    );
    wk.click("#start-visit");
    wk.wait(
        "the editor",
        "return document.getElementById('editor') !== null",
    );
    let score: String = wk
        .run(
            "const b = document.querySelectorAll('.scores')[0].querySelectorAll('button')[2]; b.click(); return b.id;",
            json!([]),
        )
        .as_str()
        .unwrap()
        .to_owned();
    wk.wait(
        "the score to be shown as chosen",
        &format!(
            "return document.getElementById('{score}').getAttribute('aria-pressed') === 'true'"
        ),
    );

    wk.call("POST", &wk.s("/refresh"), json!({}));
    wk.wait(
        "the caseload after the reload",
        "return document.getElementById('caseload') !== null",
    );
    wk.click("[id^='location-']");
    wk.wait(
        "the draft",
        "return document.querySelector(\"[id^='continue-']\") !== null",
    );
    wk.click("[id^='continue-']");
    wk.wait(
        "the editor",
        "return document.getElementById('editor') !== null",
    );
    wk.wait(
        "the score, kept across the reload",
        &format!(
            "return document.getElementById('{score}').getAttribute('aria-pressed') === 'true'"
        ),
    );
}
