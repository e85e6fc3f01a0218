//! The field app's core: the signed-in session, the local store and the visit documents, with
//! every operation the screens offer. Each edit is applied to the visit's Automerge document and
//! its incremental save committed to the store before the call returns. The UI is a thin layer
//! over this; tests drive it without a window.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use accredit_shared::determination::{IndicativeTier, indicative_tier};
use accredit_shared::records::{Answer, Priority, VisitType};
use accredit_shared::scheme::RuleSet;
use accredit_shared::scoring::{ScoreSummary, score};
use accredit_shared::sync::Replica;
use accredit_shared::visit::{
    ActionDraft, Author, Conflict, EvidenceDraft, PhotoRef, VisitDoc, VisitHeader, VisitSnapshot,
};
use accredit_shared::{FrameworkPack, PackLibrary, RuleBook};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

mod history;
mod marks;
mod pack_move;
mod synced;

pub use history::{HistoryPoint, HistoryView, ResultChange};
pub use pack_move::{MoveOffer, Recovery, SetAside};

use crate::caseload::{CaseloadEntry, CaseloadLocation, PastVisit, matches, order_by_risk};
use crate::error::{AppError, AppResult};
use crate::lock;
use crate::photo::ProcessedPhoto;
use crate::server_api::{ServerApi, Session};
use crate::store::{
    self, COMPACT_AFTER_CHUNKS, DocRow, ItemKind, OutboxEntry, OutboxState, Store, StoredBlob,
    StoredPhotoMeta, blobs, docs, outbox, reference,
};

/// The framework pack shipped with the app: new visits are scored against it.
pub const SHIPPED_PACK: &str =
    include_str!("../../../assets/frameworks/cqc-quality-statements.toml");
/// The scheme rules shipped with the app, used until the server's have been fetched.
pub const SHIPPED_RULES: &str = include_str!("../../../assets/schemes/blackpool-style.toml");

const SESSION_KEY: &str = "session";
const CASELOAD_KEY: &str = "caseload";
const RULES_KEY: &str = "rule_sets";
/// Every framework pack version the server has sent, as served (JSON texts).
const PACKS_KEY: &str = "packs";

fn history_key(location: Uuid) -> String {
    format!("history:{location}")
}

/// A location's page: profile, history and open actions.
#[derive(Clone, Debug, PartialEq)]
pub struct LocationDetail {
    /// The caseload row.
    pub entry: CaseloadEntry,
    /// Previous visits the server knows, newest first, with their scores.
    pub history: Vec<(PastVisit, Option<ScoreSummary>)>,
    /// Visits on this device at this location, newest first.
    pub on_device: Vec<DocRow>,
    /// Those not yet signed off, with how far each has got.
    pub drafts: Vec<Draft>,
}

/// A visit in progress on this device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// The visit.
    pub id: Uuid,
    /// The day it was started.
    pub started_on: NaiveDate,
    /// Criteria answered so far.
    pub answered: usize,
    /// Criteria in its framework pack.
    pub criteria: usize,
}

/// The London day of a stored start time.
fn started_on(rfc3339: &str) -> AppResult<NaiveDate> {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| accredit_shared::calendar::london_date(t.with_timezone(&Utc)))
        .map_err(|e| AppError::Corrupt(format!("a stored start time {rfc3339:?}: {e}")))
}

/// The live summary beside the visit editor.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveSummary {
    /// Domain and overall percentages.
    pub scores: ScoreSummary,
    /// The tier the scores alone would earn.
    pub indicative: IndicativeTier,
    /// The rule set used (name and version).
    pub rule_set: String,
}

/// What stands between a visit and its sign-off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignOffCheck {
    /// Criteria with no answer, in pack order.
    pub unanswered: Vec<Unanswered>,
    /// Fields two monitors set differently.
    pub conflicts: usize,
    /// Actions with no due date (id, description).
    pub actions_without_due: Vec<(Uuid, String)>,
}

/// A criterion still without an answer, and where it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unanswered {
    /// The domain's title.
    pub domain: String,
    /// The criterion's id.
    pub id: String,
    /// Its prompt.
    pub prompt: String,
}

impl SignOffCheck {
    /// Whether the visit may be signed.
    pub fn ready(&self) -> bool {
        self.unanswered.is_empty() && self.conflicts == 0 && self.actions_without_due.is_empty()
    }
}

/// Everything the visit editor shows.
#[derive(Clone, Debug)]
pub struct VisitView {
    /// The visit.
    pub snapshot: VisitSnapshot,
    /// Unresolved conflicts.
    pub conflicts: Vec<Conflict>,
    /// Live scores and indicative tier.
    pub summary: LiveSummary,
    /// The previous visit's answers at this location, by criterion.
    pub previous: BTreeMap<String, Answer>,
    /// The previous visit's day.
    pub previous_on: Option<NaiveDate>,
    /// Signed off: read-only on this device.
    pub read_only: bool,
    /// The location's name.
    pub location_name: String,
    /// The framework pack version the visit is scored against: its own, whatever is newer.
    pub pack: FrameworkPack,
}

/// Sign-out was refused: these items have not reached the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOutRefused(pub Vec<OutboxEntry>);

/// The field app's state.
pub struct Workspace {
    store: Store,
    session: Option<Session>,
    replica: Option<Replica>,
    loaded: HashSet<Uuid>,
    chunks: HashMap<Uuid, i64>,
    pack_keys: HashMap<Uuid, (String, String)>,
    packs: PackLibrary,
    pack: FrameworkPack,
    rules: RuleBook,
    rules_from_server: bool,
}

impl Workspace {
    /// Opens the workspace stored at `path`. Works offline: nothing here touches the network.
    pub fn open(path: &Path) -> AppResult<Workspace> {
        let store = Store::open(path)?;
        let pack = FrameworkPack::from_toml(SHIPPED_PACK)
            .map_err(|e| AppError::Corrupt(format!("shipped framework pack: {e}")))?;
        let mut packs = PackLibrary::new();
        packs
            .insert(pack.clone())
            .map_err(|e| AppError::Corrupt(e.to_string()))?;
        if let Some((sources, _)) = reference::get::<Vec<String>>(store.conn(), PACKS_KEY)? {
            for source in &sources {
                let p = FrameworkPack::from_json(source)
                    .map_err(|e| AppError::Corrupt(format!("a saved framework pack: {e}")))?;
                if packs.get(&p.id, &p.version).is_none() {
                    packs
                        .insert(p)
                        .map_err(|e| AppError::Corrupt(format!("a saved framework pack: {e}")))?;
                }
            }
        }
        let session: Option<Session> = store
            .setting(SESSION_KEY)?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| AppError::Corrupt(format!("saved session: {e}")))?;
        let (rules, rules_from_server) =
            match reference::get::<Vec<String>>(store.conn(), RULES_KEY)? {
                Some((sources, _)) if !sources.is_empty() => (rule_book(&sources)?, true),
                _ => (rule_book(&[SHIPPED_RULES.to_owned()])?, false),
            };
        let replica = session.as_ref().map(|s| Replica::new(author_of(s)));
        Ok(Workspace {
            store,
            session,
            replica,
            loaded: HashSet::new(),
            chunks: HashMap::new(),
            pack_keys: HashMap::new(),
            packs,
            pack,
            rules,
            rules_from_server,
        })
    }

    /// The signed-in session.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The API of the signed-in server.
    pub fn api(&self) -> AppResult<ServerApi> {
        let s = self.session.as_ref().ok_or(AppError::NotSignedIn)?;
        Ok(ServerApi::at(&s.server_url, Some(s.token.clone())))
    }

    /// The framework pack new visits use.
    pub fn pack(&self) -> &FrameworkPack {
        &self.pack
    }

    /// Every framework pack version this device holds: the shipped one and each the server sent.
    pub fn packs(&self) -> &PackLibrary {
        &self.packs
    }

    /// The (id, version) of every pack held, for [`fetch_reference`] to fetch only new ones.
    pub fn pack_versions(&self) -> Vec<(String, String)> {
        self.packs
            .iter()
            .map(|p| (p.id.clone(), p.version.clone()))
            .collect()
    }

    /// Whether the scheme rules came from the server (or are the ones shipped with the app).
    pub fn rules_from_server(&self) -> bool {
        self.rules_from_server
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Checks a sign-in form before anything is sent. Refused while someone is signed in (their
    /// work may not have reached the server).
    pub fn check_sign_in(&self, server_url: &str, username: &str, password: &str) -> AppResult<()> {
        if self.session.is_some() {
            return Err(AppError::Invalid(
                "someone is already signed in on this device; sign out first".to_owned(),
            ));
        }
        let url = server_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
            return Err(AppError::Invalid(
                "Enter the server address starting with https:// (or http:// on a local network)"
                    .to_owned(),
            ));
        }
        if username.trim().is_empty() || password.is_empty() {
            return Err(AppError::Invalid(
                "Enter your username and password".to_owned(),
            ));
        }
        Ok(())
    }

    /// Keeps a session the server granted, if its role records visits.
    pub fn adopt_session(&mut self, session: &Session) -> AppResult<()> {
        if self.session.is_some() {
            return Err(AppError::Invalid(
                "someone is already signed in on this device; sign out first".to_owned(),
            ));
        }
        if !session.role.records_visits() {
            return Err(AppError::Auth(format!(
                "the field app is for monitors and leads; this account is a {}",
                session.role.as_str()
            )));
        }
        let text = serde_json::to_string(session).map_err(|e| AppError::Corrupt(e.to_string()))?;
        self.store.set_setting(SESSION_KEY, Some(&text))?;
        self.replica = Some(Replica::new(author_of(session)));
        self.loaded.clear();
        self.session = Some(session.clone());
        Ok(())
    }

    /// Caches what [`fetch_reference`] brought: a local step, quick under the lock.
    pub fn store_reference(&mut self, r: Reference) -> AppResult<()> {
        // New pack versions join the library first: one that does not fit the versions held
        // (a mapping that loses an answer) is refused before anything is cached.
        let mut packs = self.packs.clone();
        for (_, pack) in &r.packs {
            packs.insert(pack.clone()).map_err(|e| {
                AppError::Refused(format!(
                    "framework pack {} {} from the server: {e}",
                    pack.id, pack.version
                ))
            })?;
        }
        let mut sources: Vec<String> = reference::get(self.store.conn(), PACKS_KEY)?
            .map(|(s, _)| s)
            .unwrap_or_default();
        sources.extend(r.packs.iter().map(|(s, _)| s.clone()));
        self.store.atomically(|c| {
            if !r.packs.is_empty() {
                reference::put(c, PACKS_KEY, &sources)?;
            }
            reference::put(c, CASELOAD_KEY, &r.locations)?;
            if r.book.is_some() {
                reference::put(c, RULES_KEY, &r.sources)?;
            }
            for (id, h) in &r.histories {
                reference::put(c, &history_key(*id), h)?;
            }
            Ok(())
        })?;
        if let Some(book) = r.book {
            self.rules = book;
            self.rules_from_server = true;
        }
        self.packs = packs;
        Ok(())
    }

    /// A location's visit history as cached, for [`fetch_reference`] to fetch only what changed.
    pub fn cached_history(&self, location: Uuid) -> AppResult<Vec<PastVisit>> {
        self.history(location)
    }

    /// When the caseload was last fetched.
    pub fn caseload_fetched_at(&self) -> AppResult<Option<String>> {
        Ok(
            reference::get::<Vec<CaseloadLocation>>(self.store.conn(), CASELOAD_KEY)?
                .map(|(_, at)| at),
        )
    }

    fn cached_locations(&self) -> AppResult<Vec<CaseloadLocation>> {
        Ok(reference::get(self.store.conn(), CASELOAD_KEY)?
            .map(|(l, _)| l)
            .unwrap_or_default())
    }

    fn history(&self, location: Uuid) -> AppResult<Vec<PastVisit>> {
        Ok(reference::get(self.store.conn(), &history_key(location))?
            .map(|(h, _)| h)
            .unwrap_or_default())
    }

    /// The caseload, riskiest first, filtered by a name search.
    pub fn caseload(&self, query: &str, today: NaiveDate) -> AppResult<Vec<CaseloadEntry>> {
        let rows = docs::list(self.store.conn())?;
        let mut out = Vec::new();
        for loc in self.cached_locations()? {
            if !matches(&loc.name, query) {
                continue;
            }
            out.push(self.entry(loc, &rows, today)?);
        }
        order_by_risk(&mut out);
        Ok(out)
    }

    fn entry(
        &self,
        location: CaseloadLocation,
        rows: &[DocRow],
        today: NaiveDate,
    ) -> AppResult<CaseloadEntry> {
        let history = self.history(location.id)?;
        let latest = history.iter().max_by_key(|v| v.visited_on);
        let (open, overdue_actions) = latest.map_or((0, 0), |v| {
            let open: Vec<_> = v.open_actions().collect();
            let overdue = open
                .iter()
                .filter(|a| a.due_on.is_some_and(|d| d < today))
                .count();
            (open.len(), overdue)
        });
        let started = |signed: bool| {
            rows.iter()
                .filter(|r| r.location_id == location.id && r.signed_off == signed)
                .map(|r| started_on(&r.started_at))
                .collect::<AppResult<Vec<_>>>()
                .map(|days| days.into_iter().max())
        };
        let last_visit_on = location.last_visit_on.max(started(true)?);
        let draft_started_on = started(false)?;
        let overdue = location.next_visit_due_on.is_none_or(|d| d < today);
        // A plan whose visit was started on this device is started, whatever the server says yet.
        let started_here = docs::started_plans(self.store.conn())?;
        let plans: Vec<_> = location
            .planned_visits
            .iter()
            .filter(|p| !started_here.contains(&p.id))
            .cloned()
            .collect();
        let next_planned = crate::caseload::next_planned(&plans);
        Ok(CaseloadEntry {
            next_planned,
            location,
            open_actions: open,
            overdue_actions,
            last_visit_on,
            draft_started_on,
            overdue,
        })
    }

    /// A location's page.
    pub fn location(&self, id: Uuid, today: NaiveDate) -> AppResult<LocationDetail> {
        let loc = self
            .cached_locations()?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| AppError::NotFound(format!("location {id} on your caseload")))?;
        let rows = docs::list(self.store.conn())?;
        let entry = self.entry(loc, &rows, today)?;
        let mut history: Vec<(PastVisit, Option<ScoreSummary>)> = self
            .history(id)?
            .into_iter()
            .map(|v| {
                let s = self.score_of(&v.pack.0, &v.pack.1, &v.answers, v.visited_on);
                (v, s)
            })
            .collect();
        history.sort_by_key(|h| std::cmp::Reverse(h.0.visited_on));
        let on_device: Vec<DocRow> = rows.into_iter().filter(|r| r.location_id == id).collect();
        let mut drafts = Vec::new();
        for row in on_device.iter().filter(|r| !r.signed_off) {
            drafts.push(self.draft(row)?);
        }
        Ok(LocationDetail {
            entry,
            history,
            on_device,
            drafts,
        })
    }

    /// How far a draft on this device has got.
    fn draft(&self, row: &DocRow) -> AppResult<Draft> {
        let loaded = self.replica.as_ref().and_then(|r| r.doc(&row.id));
        let snapshot = match loaded {
            Some(doc) => doc.snapshot()?,
            None => {
                let stored = docs::load(self.store.conn(), row.id)?
                    .ok_or_else(|| AppError::NotFound(format!("visit {}", row.id)))?;
                let session = self.session.as_ref().ok_or(AppError::NotSignedIn)?;
                VisitDoc::load(&stored.bytes, author_of(session))?.snapshot()?
            }
        };
        Ok(Draft {
            id: row.id,
            started_on: started_on(&row.started_at)?,
            answered: snapshot
                .results
                .values()
                .filter(|r| r.answer.is_some())
                .count(),
            criteria: snapshot.results.len(),
        })
    }

    fn rules_on(&self, day: NaiveDate) -> AppResult<&RuleSet> {
        self.rules
            .in_force(day)
            .or_else(|| self.rules.sets().first())
            .ok_or_else(|| AppError::Corrupt("no scheme rules".to_owned()))
    }

    fn score_of(
        &self,
        pack_id: &str,
        version: &str,
        answers: &BTreeMap<String, Answer>,
        day: NaiveDate,
    ) -> Option<ScoreSummary> {
        let pack = self.packs.get(pack_id, version)?;
        let rules = self.rules_on(day).ok()?;
        Some(score(pack, answers, &rules.scoring))
    }

    /// Starts a visit at a caseload location; returns its id.
    pub fn start_visit(
        &mut self,
        location: Uuid,
        visit_type: VisitType,
        announced: bool,
        now: DateTime<Utc>,
    ) -> AppResult<Uuid> {
        self.start(location, visit_type, announced, now, None)
    }

    /// Starts the visit a lead planned for this monitor: its location and kind come from the
    /// plan, and the document carries the plan's id, so the server links the two when it syncs.
    pub fn start_planned_visit(
        &mut self,
        plan: Uuid,
        announced: bool,
        now: DateTime<Utc>,
    ) -> AppResult<Uuid> {
        let planned = self
            .cached_locations()?
            .into_iter()
            .flat_map(|l| l.planned_visits)
            .find(|p| p.id == plan)
            .ok_or_else(|| AppError::NotFound(format!("planned visit {plan}")))?;
        self.start(
            planned.location_id,
            planned.visit_type,
            announced,
            now,
            Some(plan),
        )
    }

    fn start(
        &mut self,
        location: Uuid,
        visit_type: VisitType,
        announced: bool,
        now: DateTime<Utc>,
        plan_id: Option<Uuid>,
    ) -> AppResult<Uuid> {
        let session = self.session.clone().ok_or(AppError::NotSignedIn)?;
        let name = self
            .cached_locations()?
            .into_iter()
            .find(|l| l.id == location)
            .map(|l| l.name)
            .ok_or_else(|| AppError::NotFound(format!("location {location} on your caseload")))?;
        let header = VisitHeader {
            visit_id: Uuid::new_v4(),
            location_id: location,
            pack_id: self.pack.id.clone(),
            pack_version: self.pack.version.clone(),
            visit_type,
            announced,
            started_at: now,
            plan_id,
        };
        let mut doc = VisitDoc::create(&header, &self.pack, author_of(&session))?;
        let snapshot = doc.save();
        let row = DocRow {
            id: header.visit_id,
            location_id: location,
            started_at: now.to_rfc3339(),
            signed_off: false,
            created_here: true,
        };
        let label = visit_label(&name, now);
        self.store.atomically(|c| {
            docs::insert(c, &row, &snapshot)?;
            if let Some(plan) = plan_id {
                docs::set_plan(c, row.id, plan)?;
            }
            outbox::set_state(
                c,
                ItemKind::Visit,
                &row.id.to_string(),
                &label,
                OutboxState::LocalOnly,
                None,
                None,
            )
        })?;
        self.replica_mut()?.insert(header.visit_id, doc, None);
        self.loaded.insert(header.visit_id);
        self.chunks.insert(header.visit_id, 0);
        Ok(header.visit_id)
    }

    fn replica_mut(&mut self) -> AppResult<&mut Replica> {
        self.replica.as_mut().ok_or(AppError::NotSignedIn)
    }

    /// Loads a stored document into memory, if it is not there yet.
    pub fn ensure_loaded(&mut self, id: Uuid) -> AppResult<()> {
        if self.loaded.contains(&id) {
            return Ok(());
        }
        let stored = docs::load(self.store.conn(), id)?
            .ok_or_else(|| AppError::NotFound(format!("visit {id}")))?;
        let state = docs::sync_state(self.store.conn(), id)?;
        let session = self.session.clone().ok_or(AppError::NotSignedIn)?;
        let doc = VisitDoc::load(&stored.bytes, author_of(&session))?;
        self.insert_loaded(id, doc, stored.chunks, state)
    }

    /// Puts a document loaded elsewhere (off the lock) into memory.
    pub(crate) fn insert_loaded(
        &mut self,
        id: Uuid,
        doc: VisitDoc,
        chunks: i64,
        state: Option<(Vec<u8>, Vec<String>)>,
    ) -> AppResult<()> {
        if self.loaded.contains(&id) {
            return Ok(());
        }
        let (state, receipt) = match state {
            Some((bytes, receipt)) => (
                automerge::sync::State::decode(&bytes).ok(),
                accredit_shared::visit::heads_from_strings(&receipt),
            ),
            None => (None, None),
        };
        let replica = self.replica_mut()?;
        replica.insert(id, doc, state);
        if let Some(r) = receipt {
            replica.set_receipt(id, r);
        }
        self.loaded.insert(id);
        self.chunks.insert(id, chunks);
        Ok(())
    }

    /// Whether a document is in memory.
    pub(crate) fn is_loaded(&self, id: Uuid) -> bool {
        self.loaded.contains(&id)
    }

    pub(crate) fn replica(&mut self) -> AppResult<&mut Replica> {
        self.replica_mut()
    }

    fn doc(&mut self, id: Uuid) -> AppResult<&mut VisitDoc> {
        self.ensure_loaded(id)?;
        self.replica_mut()?
            .doc_mut(&id)
            .ok_or_else(|| AppError::NotFound(format!("visit {id}")))
    }

    /// Saves what changed in a document since its last save, in one transaction with its outbox
    /// entry, and compacts it once enough chunks have piled up.
    pub(crate) fn persist(&mut self, id: Uuid) -> AppResult<()> {
        let doc = self.doc(id)?;
        let chunk = doc.save_incremental();
        if chunk.is_empty() {
            return Ok(());
        }
        let count = self.chunks.get(&id).copied().unwrap_or(0) + 1;
        let compacted = if count >= COMPACT_AFTER_CHUNKS {
            Some(self.doc(id)?.save())
        } else {
            None
        };
        let item = id.to_string();
        let prior = outbox::get(self.store.conn(), ItemKind::Visit, &item)?;
        let (state, label) = match prior {
            None => (OutboxState::LocalOnly, self.label_of(id)?),
            Some(p) if p.state == OutboxState::LocalOnly => (OutboxState::LocalOnly, p.label),
            Some(p) => (OutboxState::Queued, p.label),
        };
        self.store.atomically(|c| {
            match &compacted {
                Some(snapshot) => docs::compact(c, id, snapshot)?,
                None => docs::append(c, id, &chunk)?,
            }
            outbox::set_state(c, ItemKind::Visit, &item, &label, state, None, None)
        })?;
        self.chunks
            .insert(id, if compacted.is_some() { 0 } else { count });
        Ok(())
    }

    fn label_of(&self, id: Uuid) -> AppResult<String> {
        let row = docs::get(self.store.conn(), id)?
            .ok_or_else(|| AppError::NotFound(format!("visit {id}")))?;
        let name = self
            .cached_locations()?
            .into_iter()
            .find(|l| l.id == row.location_id)
            .map_or_else(|| "a location".to_owned(), |l| l.name);
        let at = DateTime::parse_from_rfc3339(&row.started_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        Ok(visit_label(&name, at))
    }

    /// Refuses edits to a signed-off visit. Reads the store's index, which records a sign-off
    /// made here or received by sync, instead of reading the whole document on every keystroke.
    fn check_editable(&self, id: Uuid) -> AppResult<()> {
        let row = docs::get(self.store.conn(), id)?
            .ok_or_else(|| AppError::NotFound(format!("visit {id}")))?;
        if row.signed_off {
            return Err(AppError::Invalid(
                "this visit is signed off and read-only on this device".to_owned(),
            ));
        }
        Ok(())
    }

    fn edit<T>(
        &mut self,
        id: Uuid,
        f: impl FnOnce(&mut VisitDoc, &FrameworkPack) -> AppResult<T>,
    ) -> AppResult<T> {
        let key = self.pack_key(id)?;
        self.check_editable(id)?;
        let pack = pack_in(&self.packs, &key)?;
        let doc = self
            .replica
            .as_mut()
            .ok_or(AppError::NotSignedIn)?
            .doc_mut(&id)
            .ok_or_else(|| AppError::NotFound(format!("visit {id}")))?;
        let out = f(doc, pack)?;
        self.persist(id)?;
        Ok(out)
    }

    /// The framework pack (id, version) a visit is scored against, read from the document once
    /// and remembered until the draft moves version (here, or on another device through sync).
    fn pack_key(&mut self, id: Uuid) -> AppResult<(String, String)> {
        if let Some(key) = self.pack_keys.get(&id) {
            return Ok(key.clone());
        }
        let h = self.doc(id)?.snapshot()?.header;
        let key = (h.pack_id, h.pack_version);
        self.pack_keys.insert(id, key.clone());
        Ok(key)
    }

    /// Sets or clears a criterion's answer.
    pub fn set_answer(
        &mut self,
        id: Uuid,
        criterion: &str,
        answer: Option<Answer>,
    ) -> AppResult<()> {
        self.edit(id, |d, p| Ok(d.set_answer(p, criterion, answer)?))
    }

    /// Replaces a criterion's notes.
    pub fn set_notes(&mut self, id: Uuid, criterion: &str, text: &str) -> AppResult<()> {
        self.edit(id, |d, p| Ok(d.set_notes(p, criterion, text)?))
    }

    /// Adds an evidence item.
    pub fn add_evidence(&mut self, id: Uuid, draft: &EvidenceDraft) -> AppResult<Uuid> {
        if draft.text.trim().is_empty() && draft.photo.is_none() {
            return Err(AppError::Invalid(
                "write what was found before adding the evidence".to_owned(),
            ));
        }
        self.edit(id, |d, p| Ok(d.add_evidence(p, draft)?))
    }

    /// Replaces an evidence item's text.
    pub fn set_evidence_text(&mut self, id: Uuid, evidence: Uuid, text: &str) -> AppResult<()> {
        self.edit(id, |d, _| Ok(d.set_evidence_text(evidence, text)?))
    }

    /// Adds an action.
    pub fn add_action(&mut self, id: Uuid, draft: &ActionDraft) -> AppResult<Uuid> {
        self.edit(id, |d, p| Ok(d.add_action(p, draft)?))
    }

    /// Sets an action's due date.
    pub fn set_action_due(
        &mut self,
        id: Uuid,
        action: Uuid,
        due: Option<NaiveDate>,
    ) -> AppResult<()> {
        self.edit(id, |d, _| Ok(d.set_action_due(action, due)?))
    }

    /// Sets an action's priority.
    pub fn set_action_priority(&mut self, id: Uuid, action: Uuid, p: Priority) -> AppResult<()> {
        self.edit(id, |d, _| Ok(d.set_action_priority(action, p)?))
    }

    /// Adds a processed photo to a visit: the blob is stored by hash and queued for upload, and
    /// the document gets a reference to it, in one transaction.
    pub fn add_photo(
        &mut self,
        id: Uuid,
        photo: &ProcessedPhoto,
        caption: &str,
        criterion: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<Uuid> {
        let key = self.pack_key(id)?;
        if let Some(c) = criterion
            && pack_in(&self.packs, &key)?.criterion(c).is_none()
        {
            return Err(AppError::Invalid(format!(
                "{c} is not a criterion of this visit"
            )));
        }
        let label = format!("Photo for {}", self.label_of(id)?);
        let reference = PhotoRef {
            hash: photo.hash.clone(),
            size: photo.bytes.len() as u64,
            width: photo.width,
            height: photo.height,
            taken_at: photo.taken_at.unwrap_or(now),
            caption: caption.trim().to_owned(),
            criterion: criterion.map(str::to_owned),
        };
        self.check_editable(id)?;
        let photo_id = self.doc(id)?.add_photo(&reference)?;
        let blob = StoredBlob {
            meta: StoredPhotoMeta {
                hash: photo.hash.clone(),
                size: photo.bytes.len() as u64,
                width: photo.width,
                height: photo.height,
            },
            bytes: photo.bytes.clone(),
            thumbnail: photo.thumbnail.clone(),
        };
        let known = outbox::get(self.store.conn(), ItemKind::Photo, &photo.hash)?;
        self.store.atomically(|c| {
            blobs::put(c, &blob)?;
            if known.is_none() {
                outbox::set_state(
                    c,
                    ItemKind::Photo,
                    &blob.meta.hash,
                    &label,
                    OutboxState::LocalOnly,
                    None,
                    None,
                )?;
                outbox::set_progress(c, ItemKind::Photo, &blob.meta.hash, 0, blob.meta.size)?;
            }
            Ok(())
        })?;
        self.persist(id)?;
        Ok(photo_id)
    }

    /// A photo's thumbnail.
    pub fn thumbnail(&self, hash: &str) -> AppResult<Option<Vec<u8>>> {
        blobs::thumbnail(self.store.conn(), hash)
    }

    /// Resolves a conflict, keeping the reason in the record. Allowed after sign-off too.
    pub fn resolve_conflict(
        &mut self,
        id: Uuid,
        path: &[String],
        chosen: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        self.doc(id)?.resolve_conflict(path, chosen, reason, now)?;
        self.persist(id)
    }

    /// What must be done before sign-off.
    pub fn sign_off_check(&mut self, id: Uuid) -> AppResult<SignOffCheck> {
        let key = self.pack_key(id)?;
        let doc = self.doc(id)?;
        let snap = doc.snapshot()?;
        let conflicts = doc.conflicts()?.len();
        let pack = pack_in(&self.packs, &key)?;
        let unanswered = pack
            .domains
            .iter()
            .flat_map(|d| {
                d.standards
                    .iter()
                    .flat_map(|s| &s.criteria)
                    .map(move |c| (d, c))
            })
            .filter(|(_, c)| snap.results.get(&c.id).is_none_or(|r| r.answer.is_none()))
            .map(|(d, c)| Unanswered {
                domain: d.title.clone(),
                id: c.id.clone(),
                prompt: c.prompt.clone(),
            })
            .collect();
        let actions_without_due = snap
            .actions
            .iter()
            .filter(|(_, a)| a.due_on.is_none())
            .map(|(id, a)| (*id, a.description.clone()))
            .collect();
        Ok(SignOffCheck {
            unanswered,
            conflicts,
            actions_without_due,
        })
    }

    /// Marks every criterion still without an answer "not assessed", in one saved change, and
    /// returns how many. Answers already given are left as they are.
    pub fn mark_unanswered_not_assessed(&mut self, id: Uuid) -> AppResult<usize> {
        let unanswered = self.sign_off_check(id)?.unanswered;
        self.edit(id, |d, p| {
            for u in &unanswered {
                d.set_answer(p, &u.id, Some(Answer::NotAssessed))?;
            }
            Ok(unanswered.len())
        })
    }

    /// Signs the visit off as the signed-in monitor, if the check list is clear. The visit is
    /// read-only on this device afterwards.
    pub fn sign_off(&mut self, id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
        let check = self.sign_off_check(id)?;
        if !check.ready() {
            return Err(AppError::Invalid(format!(
                "not ready to sign: {} unanswered criteria, {} unresolved conflicts, {} actions without a due date",
                check.unanswered.len(),
                check.conflicts,
                check.actions_without_due.len()
            )));
        }
        self.check_editable(id)?;
        self.doc(id)?.sign_off(now)?;
        self.persist(id)?;
        docs::set_signed_off(self.store.conn(), id)?;
        Ok(())
    }

    /// The visit editor's view.
    pub fn visit(&mut self, id: Uuid) -> AppResult<VisitView> {
        let doc = self.doc(id)?;
        let snapshot = doc.snapshot()?;
        let conflicts = doc.conflicts()?;
        let day = snapshot.visited_on();
        let answers = snapshot.answers();
        let h = &snapshot.header;
        let pack = pack_in(&self.packs, &(h.pack_id.clone(), h.pack_version.clone()))?;
        let rules = self.rules_on(day)?;
        let scores = score(pack, &answers, &rules.scoring);
        let indicative = indicative_tier(&scores, rules);
        let summary = LiveSummary {
            scores,
            indicative,
            rule_set: format!("{} {}", rules.name, rules.version),
        };
        let previous_visit = self
            .history(h.location_id)?
            .into_iter()
            .filter(|v| v.id != id && v.visited_on <= day)
            .max_by_key(|v| v.visited_on);
        let location_name = self
            .cached_locations()?
            .into_iter()
            .find(|l| l.id == h.location_id)
            .map_or_else(|| "Unknown location".to_owned(), |l| l.name);
        Ok(VisitView {
            read_only: snapshot.signoff.is_some(),
            previous_on: previous_visit.as_ref().map(|v| v.visited_on),
            previous: match previous_visit {
                Some(v) => self.answers_in(v.answers, &v.pack, pack)?,
                None => BTreeMap::new(),
            },
            snapshot,
            conflicts,
            summary,
            location_name,
            pack: pack.clone(),
        })
    }

    /// Every outbox item.
    pub fn outbox(&self) -> AppResult<Vec<OutboxEntry>> {
        outbox::list(self.store.conn())
    }

    /// Items the server has not acknowledged.
    pub fn unacknowledged(&self) -> AppResult<Vec<OutboxEntry>> {
        Ok(self
            .outbox()?
            .into_iter()
            .filter(|e| e.state != OutboxState::Acknowledged)
            .collect())
    }

    /// Signs out on this device, refused while anything has not reached the server. On success
    /// the device keeps nothing of the monitor's: visits, photos and cached data are removed,
    /// because a tablet may be handed to someone else. Returns the API of the old session, so
    /// the caller can end it at the server too ([`sign_out`] does both).
    pub fn sign_out_here(&mut self) -> AppResult<Result<Option<ServerApi>, SignOutRefused>> {
        let pending = self.unacknowledged()?;
        if !pending.is_empty() {
            return Ok(Err(SignOutRefused(pending)));
        }
        // Refused changes kept on the tablet exist nowhere else.
        let kept = store::set_aside::count(self.store.conn())?;
        if kept > 0 {
            return Err(AppError::Invalid(format!(
                "{} of changes the server refused {} kept on this tablet only; open the visit, enter again what you need, then remove the kept copy before signing out",
                accredit_shared::labels::count(kept as usize, "copy", "copies"),
                if kept == 1 { "is" } else { "are" }
            )));
        }
        let api = self.api().ok();
        self.store.atomically(|c| {
            c.execute_batch(
                "DELETE FROM doc_chunks; DELETE FROM sync_states; DELETE FROM refusals; DELETE FROM set_aside; DELETE FROM docs; DELETE FROM blobs;",
            )?;
            outbox::clear(c)?;
            reference::clear(c)?;
            store::set_setting(c, SESSION_KEY, None)
        })?;
        // Deleted rows stay in free pages until the file is rewritten: rewrite it, so nothing of
        // the monitor's can be read from the file after sign-out.
        self.store.conn().execute_batch("VACUUM")?;
        self.session = None;
        self.replica = None;
        self.loaded.clear();
        self.chunks.clear();
        Ok(Ok(api))
    }
}

/// Signs in: the form is checked, the server asked (off the lock), the session kept and the
/// caseload fetched (off the lock) and cached.
pub async fn sign_in(
    ws: &Mutex<Workspace>,
    api: &ServerApi,
    server_url: &str,
    username: &str,
    password: &str,
    device_name: &str,
) -> AppResult<Session> {
    sign_in_choosing(ws, api, server_url, username, password, None, device_name).await
}

/// Signs in as [`sign_in`] does; if the password was a one-time one, replaces it with
/// `new_password` first (without one, the sign-in is undone and `PasswordChangeRequired`
/// returned, so the form can ask for one). Nothing is kept on the device until it succeeds.
pub async fn sign_in_choosing(
    ws: &Mutex<Workspace>,
    api: &ServerApi,
    server_url: &str,
    username: &str,
    password: &str,
    new_password: Option<&str>,
    device_name: &str,
) -> AppResult<Session> {
    lock(ws).check_sign_in(server_url, username, password)?;
    let (session, change_required) = api
        .sign_in(server_url, username.trim(), password, device_name)
        .await?;
    let authed = ServerApi::new(api.transport(), Some(session.token.clone()));
    if change_required {
        let Some(new) = new_password else {
            // The token is useless until the password changes: end it rather than leave it.
            let _ = authed.sign_out().await;
            return Err(AppError::PasswordChangeRequired);
        };
        if let Err(e) = authed.change_password(password, new).await {
            let _ = authed.sign_out().await;
            return Err(e);
        }
    }
    lock(ws).adopt_session(&session)?;
    let known = lock(ws).pack_versions();
    let fetched = fetch_reference(&authed, &known, &mut |id| lock(ws).cached_history(id)).await?;
    lock(ws).store_reference(fetched)?;
    Ok(session)
}

/// Signs out (see [`Workspace::sign_out_here`]), then ends the session at the server, as far
/// as it can be reached: the token dies with the device's copy either way.
pub async fn sign_out(ws: &Mutex<Workspace>) -> AppResult<Result<(), SignOutRefused>> {
    let outcome = lock(ws).sign_out_here()?;
    match outcome {
        Ok(Some(api)) => {
            let _ = api.sign_out().await;
            Ok(Ok(()))
        }
        Ok(None) => Ok(Ok(())),
        Err(refused) => Ok(Err(refused)),
    }
}

fn pack_in<'a>(
    packs: &'a PackLibrary,
    (id, version): &(String, String),
) -> AppResult<&'a FrameworkPack> {
    packs.get(id, version).ok_or_else(|| {
        AppError::Invalid(format!(
            "this visit uses framework {id} {version}, which this version of the app does not have; update the app"
        ))
    })
}

fn author_of(s: &Session) -> Author {
    Author {
        user_id: s.user_id,
        name: s.name.clone(),
    }
}

fn rule_book(sources: &[String]) -> AppResult<RuleBook> {
    let sets = sources
        .iter()
        .map(|s| RuleSet::from_toml(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::Corrupt(format!("scheme rules: {e}")))?;
    RuleBook::new(sets).map_err(|e| AppError::Corrupt(format!("scheme rules: {e}")))
}

/// Reference data fetched from the server, not yet cached.
pub struct Reference {
    locations: Vec<CaseloadLocation>,
    sources: Vec<String>,
    book: Option<RuleBook>,
    histories: Vec<(Uuid, Vec<PastVisit>)>,
    packs: Vec<(String, FrameworkPack)>,
}

/// Fetches the caseload, the rule sets and each location's visit history. Only network and
/// parsing: `cached_history` is asked for what is cached already (so unchanged visits are not
/// fetched again), and the caller stores the result with [`Workspace::store_reference`]. Nothing
/// here needs the workspace held across a request.
pub async fn fetch_reference(
    api: &ServerApi,
    known_packs: &[(String, String)],
    cached_history: &mut dyn FnMut(Uuid) -> AppResult<Vec<PastVisit>>,
) -> AppResult<Reference> {
    let locations: Vec<CaseloadLocation> = api
        .locations()
        .await?
        .locations
        .into_iter()
        .map(CaseloadLocation::from)
        .collect();
    let sources = api.rule_set_sources().await?;
    let book = if sources.is_empty() {
        None
    } else {
        Some(rule_book(&sources)?)
    };
    // Pack versions are fetched once each: a published version never changes.
    let mut packs = Vec::new();
    for p in api.packs().await?.packs {
        if known_packs.contains(&(p.id.clone(), p.version.clone())) {
            continue;
        }
        let source = api.pack_source(&p.id, &p.version).await?;
        let pack = FrameworkPack::from_json(&source).map_err(|e| {
            AppError::Refused(format!(
                "framework pack {} {} from the server: {e}",
                p.id, p.version
            ))
        })?;
        packs.push((source, pack));
    }
    let mut histories = Vec::new();
    for loc in &locations {
        let cached = cached_history(loc.id)?;
        histories.push((loc.id, fetch_history(api, loc.id, cached).await?));
    }
    Ok(Reference {
        locations,
        sources,
        book,
        histories,
        packs,
    })
}

/// "Visit to Seaview House, 23 Nov 2026".
pub fn visit_label(location: &str, at: DateTime<Utc>) -> String {
    let day = accredit_shared::calendar::london_date(at);
    format!("Visit to {location}, {}", day.format("%-d %b %Y"))
}

/// A location's visit history from the server. The list is one request; a visit's record is
/// fetched only when it is new or its revision or status changed since `cached`, because this
/// runs after every sync.
async fn fetch_history(
    api: &ServerApi,
    location: Uuid,
    cached: Vec<PastVisit>,
) -> AppResult<Vec<PastVisit>> {
    let mut known: HashMap<Uuid, PastVisit> = cached.into_iter().map(|v| (v.id, v)).collect();
    let list = api.visits_at(location).await?;
    let mut out = Vec::new();
    for v in list.visits {
        let id = v.visit.id;
        let status = v.visit.status.as_str().to_owned();
        let revision = v.visit.current_revision;
        if let Some(past) = known.remove(&id)
            && past.status == status
            && past.revision == revision
        {
            out.push(past);
            continue;
        }
        let record: VisitSnapshot = api.visit(id).await?.record;
        out.push(PastVisit {
            id,
            visited_on: record.visited_on(),
            visit_type: v.visit_type.as_str().to_owned(),
            status,
            revision,
            answers: record.answers(),
            actions: record.actions.values().cloned().collect(),
            pack: (
                record.header.pack_id.clone(),
                record.header.pack_version.clone(),
            ),
        });
    }
    Ok(out)
}
