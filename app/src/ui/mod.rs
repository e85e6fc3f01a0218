//! The Dioxus screens: a thin layer over [`crate::workspace::Workspace`]. Every handler calls one
//! workspace method and shows its error in plain words; nothing here holds data of its own.

mod caseload;
mod history;
mod location;
mod marks;
mod pack_move;
mod pad;
mod probe;
mod signoff;
pub mod views;
mod visit;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dioxus::prelude::*;
use uuid::Uuid;

use crate::error::AppResult;
use crate::server_api::ServerApi;
use crate::store::OutboxState;
use crate::sync_worker::SyncWorker;
use crate::workspace::Workspace;
use views::SyncCentreView;

/// The stylesheet, compiled in so the app needs no asset server.
pub const CSS: &str = include_str!("../../../assets/app.css");

/// What the screens share: the workspace, the sync thread and where recent photos are.
#[derive(Clone)]
pub struct AppContext {
    /// The workspace.
    pub ws: Arc<Mutex<Workspace>>,
    /// The background sync thread.
    pub sync: Arc<SyncWorker>,
    /// A folder of recent photos (the camera roll) offered beside the file picker.
    pub photo_dir: Option<PathBuf>,
    /// The server URL suggested on the sign-in screen.
    pub default_server: String,
    /// Whether that is the only server (the web app belongs to the server that served it), so
    /// the sign-in screen does not ask for it.
    pub server_fixed: bool,
    /// Where to write element positions for UI tests, if anywhere.
    pub probe: Option<PathBuf>,
}

impl AppContext {
    /// The workspace, locked. A poisoned lock is recovered: the store is transactional.
    pub fn ws(&self) -> MutexGuard<'_, Workspace> {
        crate::lock(&self.ws)
    }
}

/// Which screen is showing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Sign in.
    SignIn,
    /// The caseload.
    Caseload,
    /// A location's page.
    Location(Uuid),
    /// The visit editor.
    Visit(Uuid),
    /// A visit's sign-off.
    SignOff(Uuid),
    /// Marking up one of a visit's photos: the visit, the photo's id in it.
    Marks(Uuid, Uuid),
    /// The sync centre.
    Sync,
    /// A visit's history.
    History(Uuid),
}

/// A message at the top of the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    /// An error (red summary) or a notice.
    pub error: bool,
    /// Its lines.
    pub lines: Vec<String>,
    /// The id of the field an error is about: the summary links to it and the field shows the
    /// message beside it, as GOV.UK forms do.
    pub field: Option<String>,
}

/// The UI's signals.
#[derive(Clone, Copy)]
pub struct Ui {
    /// The screen.
    pub screen: Signal<Screen>,
    /// Bumped whenever the workspace changed, so screens read it again.
    pub tick: Signal<u64>,
    /// The message shown at the top.
    pub flash: Signal<Option<Flash>>,
    /// A criterion the visit editor should open at (its id), set by a link elsewhere.
    pub focus: Signal<Option<String>>,
}

impl Ui {
    /// Goes to a screen, clearing the message. A new screen starts at its top, not at the last
    /// screen's scroll position (where its title and first items would be missed).
    pub fn go(mut self, screen: Screen) {
        self.flash.set(None);
        self.screen.set(screen);
        crate::platform::scroll_to_top();
    }

    /// Opens a visit at one criterion: its domain, scrolled into view.
    pub fn go_to_criterion(mut self, visit: Uuid, criterion: String) {
        self.focus.set(Some(criterion));
        self.go(Screen::Visit(visit));
    }

    /// Marks the workspace as changed.
    pub fn changed(mut self) {
        self.tick.with_mut(|t| *t += 1);
    }

    /// Shows an error.
    pub fn error(mut self, text: impl Into<String>) {
        let text: String = text.into();
        // Messages from the core start in lower case; a summary line starts with a capital.
        let mut chars = text.chars();
        let text = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => text,
        };
        self.flash.set(Some(Flash {
            error: true,
            lines: vec![text],
            field: None,
        }));
        // As GOV.UK services do, move focus to the summary so it is seen and read out, wherever
        // on a long page the button that failed was.
        crate::platform::show_element("error-summary", "center", true, 50);
    }

    /// Shows an error about one field: in the summary at the top, as a link to the field, and
    /// beside the field itself.
    pub fn error_at(mut self, field: &str, text: impl Into<String>) {
        self.error(text);
        self.flash.with_mut(|f| {
            if let Some(f) = f {
                f.field = Some(field.to_owned());
            }
        });
    }

    /// The error message for `field`, if the error shown is about it.
    pub fn error_for(self, field: &str) -> Option<String> {
        (self.flash)()
            .filter(|f| f.error && f.field.as_deref() == Some(field))
            .and_then(|f| f.lines.first().cloned())
    }

    /// Shows a notice.
    pub fn notice(mut self, text: impl Into<String>) {
        self.flash.set(Some(Flash {
            error: false,
            lines: vec![text.into()],
            field: None,
        }));
    }

    /// Runs a workspace operation whose result is already on screen (a keystroke in a text
    /// field): saved at once, shown again only if it fails, so typing never waits for a redraw.
    pub fn save_quietly(self, ctx: &AppContext, f: impl FnOnce(&mut Workspace) -> AppResult<()>) {
        let result = f(&mut ctx.ws());
        if let Err(e) = result {
            self.error(e.to_string());
        }
    }

    /// Runs a workspace operation; marks a change on success, shows the error otherwise.
    pub fn act<T>(
        self,
        ctx: &AppContext,
        f: impl FnOnce(&mut Workspace) -> AppResult<T>,
    ) -> Option<T> {
        let result = f(&mut ctx.ws());
        match result {
            Ok(v) => {
                self.changed();
                Some(v)
            }
            Err(e) => {
                self.error(e.to_string());
                None
            }
        }
    }
}

/// A text field's value from a submitted form (empty if absent).
pub(crate) fn form_text(e: &FormEvent, name: &str) -> String {
    match e.get_first(name) {
        Some(dioxus::html::FormValue::Text(t)) => t,
        _ => String::new(),
    }
}

/// The app's root.
#[component]
pub fn App() -> Element {
    let ctx = use_context::<AppContext>();
    let signed_in = ctx.ws().session().is_some();
    let screen = use_signal(|| {
        if signed_in {
            Screen::Caseload
        } else {
            Screen::SignIn
        }
    });
    let tick = use_signal(|| 0u64);
    let flash = use_signal(|| None::<Flash>);
    let focus = use_signal(|| None::<String>);
    let ui = use_context_provider(|| Ui {
        screen,
        tick,
        flash,
        focus,
    });
    let sync = ctx.sync.clone();
    use_future(move || {
        let sync = sync.clone();
        async move {
            let mut seen = 0;
            loop {
                crate::platform::ui_sleep(Duration::from_millis(400)).await;
                let g = sync.status().generation;
                if g != seen {
                    seen = g;
                    ui.changed();
                }
            }
        }
    });
    if ctx.probe.is_some() {
        probe::use_probe(ctx.probe.clone());
    }
    let current = screen();
    rsx! {
        style { {CSS} }
        Header {}
        main { id: "main",
            FlashView {}
            match current {
                Screen::SignIn => rsx! { SignIn {} },
                Screen::Caseload => rsx! { caseload::CaseloadScreen {} },
                Screen::Location(id) => rsx! { location::LocationScreen { id } },
                Screen::Visit(id) => rsx! { visit::VisitScreen { id } },
                Screen::SignOff(id) => rsx! { signoff::SignOffScreen { id } },
                Screen::Marks(visit, photo) => rsx! { marks::MarkUpScreen { visit, photo } },
                Screen::Sync => rsx! { SyncScreen {} },
                Screen::History(id) => rsx! { history::HistoryScreen { id } },
            }
        }
    }
}

/// The message beside a field when the error shown is about it.
#[component]
pub(crate) fn FieldError(field: String) -> Element {
    let ui = use_context::<Ui>();
    rsx! {
        if let Some(m) = ui.error_for(&field) {
            p { class: "field-error", id: "{field}-error", span { class: "visually-hidden", "Error: " } "{m}" }
        }
    }
}

#[component]
fn FlashView() -> Element {
    let ui = use_context::<Ui>();
    let flash = (ui.flash)();
    rsx! {
        if let Some(f) = flash {
            if f.error {
                div { class: "error-summary", role: "alert", id: "error-summary", tabindex: "-1",
                    h2 { "There is a problem" }
                    ul {
                        for (i, l) in f.lines.iter().enumerate() {
                            li { key: "{i}",
                                if let Some(field) = f.field.clone() {
                                    button {
                                        class: "link-button error-link",
                                        id: "error-link-{field}",
                                        onclick: move |_| {
                                            crate::platform::show_element(&field, "center", true, 0);
                                        },
                                        "{l}"
                                    }
                                } else {
                                    "{l}"
                                }
                            }
                        }
                    }
                }
            } else {
                div { class: "notice", role: "status", id: "notice",
                    for (i, l) in f.lines.iter().enumerate() { p { key: "{i}", style: "margin:0", "{l}" } }
                }
            }
        }
    }
}

#[component]
fn Header() -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let _ = (ui.tick)();
    let screen = (ui.screen)();
    let (name, pending) = {
        let w = ctx.ws();
        let name = w.session().map(|s| s.name.clone());
        let pending = w.unacknowledged().map(|p| p.len()).unwrap_or(0);
        (name, pending)
    };
    let current = |s: Screen| if screen == s { "page" } else { "false" };
    let sign_out = {
        let ctx = ctx.clone();
        move |_| {
            let ws = ctx.ws.clone();
            spawn(async move {
                let result = crate::workspace::sign_out(&ws).await;
                match result {
                    Ok(Ok(())) => {
                        ui.go(Screen::SignIn);
                        ui.notice("Signed out. Nothing of yours is left on this device.");
                    }
                    Ok(Err(refused)) => {
                        let n = refused.0.len();
                        let mut lines = vec![format!(
                            "You cannot sign out yet: {} not reached the server. Sync when you have a connection, then sign out.",
                            accredit_shared::labels::count(n, "item has", "items have")
                        )];
                        lines.extend(
                            refused
                                .0
                                .iter()
                                .map(|e| format!("{} ({})", e.label, e.state.label())),
                        );
                        let mut flash = ui.flash;
                        flash.set(Some(Flash {
                            error: true,
                            lines,
                            field: None,
                        }));
                    }
                    Err(e) => ui.error(e.to_string()),
                }
            });
        }
    };
    rsx! {
        header { class: "header",
            span { class: "product", id: "product", "Accredit" }
            if let Some(name) = name {
                nav { aria_label: "Main",
                    button { class: "nav", id: "nav-caseload", aria_current: current(Screen::Caseload), onclick: move |_| ui.go(Screen::Caseload), "Caseload" }
                    button { class: "nav", id: "nav-sync", aria_current: current(Screen::Sync), onclick: move |_| ui.go(Screen::Sync),
                        "Sync centre "
                        span { class: "badge-sync", aria_label: "{pending} not yet received by the server", "{pending}" }
                    }
                    span { class: "who", "{name}" }
                    button { class: "nav", id: "sign-out", onclick: sign_out, "Sign out" }
                }
            }
        }
    }
}

#[component]
fn SignIn() -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let mut busy = use_signal(|| false);
    // Set when the server says the password typed was a one-time one: the form then asks for
    // the monitor's own password too, and sends both.
    let mut choosing = use_signal(|| false);
    let default_server = ctx.default_server.clone();
    let server_fixed = ctx.server_fixed;
    let submit = move |evt: FormEvent| {
        evt.prevent_default();
        let field = |name: &str| form_text(&evt, name);
        let (url, user, password) = (field("server"), field("username"), field("password"));
        let (new, again) = (field("new-password"), field("new-password-again"));
        if choosing() && new != again {
            ui.error("The new passwords do not match: type your new password again".to_owned());
            return;
        }
        let ctx = ctx.clone();
        busy.set(true);
        spawn(async move {
            let api = ServerApi::at(url.trim(), None);
            let device = crate::platform::device_name();
            let new = choosing().then_some(new);
            let result = crate::workspace::sign_in_choosing(
                &ctx.ws,
                &api,
                &url,
                &user,
                &password,
                new.as_deref(),
                &device,
            )
            .await;
            busy.set(false);
            match result {
                Ok(_) => {
                    ctx.sync.request();
                    ui.go(Screen::Caseload);
                    ui.changed();
                }
                Err(crate::error::AppError::PasswordChangeRequired) => {
                    choosing.set(true);
                    ui.error("You signed in with a one-time password. Choose your own password below, then sign in again.".to_owned());
                }
                Err(e) => ui.error(e.to_string()),
            }
        });
    };
    rsx! {
        h1 { if choosing() { "Choose your own password" } else { "Sign in" } }
        p { "Sign in once while you have a connection. After that, Accredit works without one." }
        form { onsubmit: submit, style: "max-width: 640px",
            if server_fixed {
                input { r#type: "hidden", id: "server", name: "server", value: "{default_server}" }
            } else {
                div { class: "field",
                    label { r#for: "server", "Server address" }
                    div { class: "hint", "Your council's Accredit address, for example https://accredit.example.gov.uk" }
                    input { r#type: "url", id: "server", name: "server", initial_value: "{default_server}", autofocus: true, autocomplete: "url" }
                }
            }
            div { class: "field",
                label { r#for: "username", "Username" }
                input { r#type: "text", id: "username", name: "username", autocomplete: "username", spellcheck: "false", autocapitalize: "none", autofocus: server_fixed }
            }
            div { class: "field",
                label { r#for: "password", if choosing() { "One-time password" } else { "Password" } }
                input { r#type: "password", id: "password", name: "password", autocomplete: "current-password" }
            }
            if choosing() {
                div { class: "field",
                    label { r#for: "new-password", "Your new password" }
                    div { class: "hint", id: "new-password-hint", "At least 12 characters. Three random words make a strong password that is easy to remember." }
                    input { r#type: "password", id: "new-password", name: "new-password", autocomplete: "new-password", aria_describedby: "new-password-hint" }
                }
                div { class: "field",
                    label { r#for: "new-password-again", "Type your new password again" }
                    input { r#type: "password", id: "new-password-again", name: "new-password-again", autocomplete: "new-password" }
                }
            }
            button { class: "button", r#type: "submit", id: "sign-in", disabled: busy(),
                if busy() { "Signing in…" } else if choosing() { "Save password and sign in" } else { "Sign in" }
            }
        }
    }
}

#[component]
fn SyncScreen() -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let _ = (ui.tick)();
    let status = ctx.sync.status();
    let entries = ctx.ws().outbox().unwrap_or_default();
    let sync = ctx.sync.clone();
    let pending = entries.iter().any(|e| e.state != OutboxState::Acknowledged);
    let storage = use_resource(crate::platform::storage_report);
    rsx! {
        h1 { "Sync centre" }
        p { class: "caption",
            "Accredit sends your work whenever the server can be reached, every few seconds. "
            if pending { "Items below are kept safely on this device until the server confirms it has them." }
        }
        div { class: "row", style: "margin-bottom: 16px",
            button { class: "button", id: "sync-now", disabled: status.running, onclick: move |_| sync.request(),
                if status.running { "Syncing…" } else { "Sync now" }
            }
        }
        SyncCentreView { entries, progress: status.progress, last_result: status.last_result, last_synced: status.last_synced }
        if let Some(Some(report)) = storage() {
            views::StorageView { report }
        }
    }
}
