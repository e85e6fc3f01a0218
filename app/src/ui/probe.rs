//! UI-test aid, on only when `ACCREDIT_UI_PROBE` names a file: after each render the app writes
//! the on-screen boxes of elements with an id, so a test driving the real window with mouse and
//! keyboard (xdotool) knows where to click, as a person would by looking.

use std::path::PathBuf;
use std::time::Duration;

use dioxus::prelude::*;

const SCRIPT: &str = r#"
const out = {};
for (const el of document.querySelectorAll('[id]')) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.height > 0) out[el.id] = [r.left, r.top, r.width, r.height, ((el.tagName === 'TEXTAREA' || el.tagName === 'INPUT') ? el.value : el.innerText || '').slice(0, 1000), el.getAttribute('aria-pressed') || ''];
}
return { scrollY: window.scrollY, innerHeight: window.innerHeight, boxes: out };
"#;

/// Starts writing element boxes to `file` twice a second.
pub fn use_probe(file: Option<PathBuf>) {
    use_future(move || {
        let file = file.clone();
        async move {
            let Some(file) = file else { return };
            loop {
                crate::platform::ui_sleep(Duration::from_millis(300)).await;
                if let Ok(v) = document::eval(SCRIPT).await {
                    let tmp = file.with_extension("tmp");
                    if std::fs::write(&tmp, v.to_string()).is_ok() {
                        let _ = std::fs::rename(&tmp, &file);
                    }
                }
            }
        }
    });
}
