//! A client that is not the app: `tests/clients/*.test.mjs`, written from API.md and
//! docs/visit-document.md with the official JS Automerge package (npm `@automerge/automerge`),
//! syncs a visit to the real server and checks that every invalid value is refused.

use std::process::Command;

use accredit_e2e::{Server, workspace};

#[test]
fn a_visit_from_the_official_js_automerge_is_checked_like_any_other() {
    let dir = workspace().join("tests/clients");
    assert!(
        dir.join("node_modules/@automerge/automerge").exists(),
        "the client tests' npm packages are missing: run `npm ci` in tests/clients (./scripts/test.sh does)"
    );
    let data = tempfile::tempdir().unwrap();
    let server = Server::demo(data.path());
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "automerge-js.test.mjs"])
        .current_dir(&dir)
        .env("ACCREDIT_URL", &server.url)
        .output()
        .expect("node is needed to run the client tests");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(
        out.status.success(),
        "the JS client's checks failed:\n{report}"
    );
}
