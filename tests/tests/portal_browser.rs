//! The web portal in real headless Chromium (Debian's), driven by Playwright (`playwright-core`)
//! with axe-core checking accessibility, against the real server with demo data. The browser
//! scenarios live in `tests/browser/*.test.mjs`; this test starts the server and runs them, one
//! file after another, since they share the server's data. Screenshots go to
//! `target/screenshots/` (and to `docs/screenshots/` with `ACCREDIT_UPDATE_SCREENSHOTS=1`).

use std::process::Command;

use accredit_e2e::{Server, workspace};

#[test]
fn the_portal_works_in_a_real_browser_for_providers_commissioners_and_the_public() {
    let browser_dir = workspace().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "the browser tests' npm packages are missing: run `npm ci` in tests/browser (./scripts/test.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (./scripts/test.sh does)"
    );
    let mut scenarios: Vec<String> = std::fs::read_dir(&browser_dir)
        .expect("tests/browser")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".test.mjs"))
        .collect();
    scenarios.sort();
    assert!(!scenarios.is_empty(), "no browser scenarios found");

    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let shots = if std::env::var_os("ACCREDIT_UPDATE_SCREENSHOTS").is_some() {
        workspace().join("docs/screenshots")
    } else {
        workspace().join("target/screenshots")
    };
    let out = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(&scenarios)
        .current_dir(&browser_dir)
        .env("ACCREDIT_URL", &server.url)
        .env("ACCREDIT_SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node is needed to run the browser tests");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(out.status.success(), "browser scenarios failed:\n{report}");
}
