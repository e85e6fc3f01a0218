//! Reading a visit document, now or as of given heads, into a [`VisitSnapshot`].
//!
//! Each map is read in one pass ([`View::fields`]) rather than a lookup per key: on a visit of a
//! hundred criteria that is several times faster, and the server reads every new visit whole.

use std::collections::BTreeMap;

use automerge::{
    AutoCommit, ChangeHash, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue, ScalarValueRef,
    Value, ValueRef,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::annotation::{AnnotationKind, PhotoAnnotation, annotation_problem};
use super::error::{VisitDocError, malformed};
use super::model::*;
use super::points::{decode_points, decode_strokes};
use super::schema::*;
use super::signature::{Signature, signature_problem};
use crate::framework::{FrameworkPack, PackLibrary};
use crate::pack_migration::{NotCarried, NotCarriedReason};
use crate::records::Answer;

/// A read-only view of a document, either current or as of some heads.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) doc: &'a AutoCommit,
    pub(crate) heads: Option<&'a [ChangeHash]>,
}

type Got<'a> = Option<(Value<'a>, ObjId)>;

impl<'a> View<'a> {
    pub(crate) fn get(&self, obj: &ObjId, key: &str) -> Result<Got<'a>, VisitDocError> {
        Ok(match self.heads {
            Some(h) => self.doc.get_at(obj, key, h)?,
            None => self.doc.get(obj, key)?,
        })
    }

    pub(crate) fn get_all(
        &self,
        obj: &ObjId,
        key: &str,
    ) -> Result<Vec<(Value<'a>, ObjId)>, VisitDocError> {
        Ok(match self.heads {
            Some(h) => self.doc.get_all_at(obj, key, h)?,
            None => self.doc.get_all(obj, key)?,
        })
    }

    pub(crate) fn keys(&self, obj: &ObjId) -> Vec<String> {
        match self.heads {
            Some(h) => self.doc.keys_at(obj, h).collect(),
            None => self.doc.keys(obj).collect(),
        }
    }

    fn text(&self, obj: &ObjId) -> Result<String, VisitDocError> {
        Ok(match self.heads {
            Some(h) => self.doc.text_at(obj, h)?,
            None => self.doc.text(obj)?,
        })
    }

    /// The map under `key` of `obj`, if present; anything else there is malformed.
    pub(crate) fn opt_map(
        &self,
        obj: &ObjId,
        key: &str,
        path: &[&str],
    ) -> Result<Option<ObjId>, VisitDocError> {
        match self.get(obj, key)? {
            None => Ok(None),
            Some((Value::Object(ObjType::Map), id)) => Ok(Some(id)),
            Some(_) => Err(malformed(&with(path, key), "expected a map")),
        }
    }

    /// Every field of the map `obj`, in one pass.
    pub(crate) fn fields(&self, obj: &ObjId) -> Fields<'a> {
        let items: Vec<_> = match self.heads {
            Some(h) => self.doc.map_range_at(obj, .., h).collect(),
            None => self.doc.map_range(obj, ..).collect(),
        };
        let mut others = Vec::new();
        let entries = items
            .into_iter()
            .map(|item| {
                let entry = match &item.value {
                    ValueRef::Object(t) => Entry::Object(*t, item.id()),
                    ValueRef::Scalar(s) => Entry::of_scalar(s),
                };
                let key = item.key.into_owned();
                // Only keys written concurrently cost a second look-up.
                if item.conflict {
                    others.push((key.clone(), self.losing_values(obj, &key)));
                }
                (key, entry)
            })
            .collect();
        Fields {
            view: *self,
            entries,
            others,
        }
    }

    /// Every concurrent value at `key`, the visible one included. Each must be as valid as the
    /// visible one: Automerge's ordering picks one arbitrarily, and a device may keep any.
    fn losing_values(&self, obj: &ObjId, key: &str) -> Vec<Entry> {
        let all = match self.heads {
            Some(h) => self.doc.get_all_at(obj, key, h),
            None => self.doc.get_all(obj, key),
        };
        match all {
            Ok(all) => all
                .into_iter()
                .map(|(value, id)| match value {
                    Value::Object(t) => Entry::Object(t, id),
                    Value::Scalar(s) => Entry::of_value(s.as_ref()),
                })
                .collect(),
            // Reported, not skipped: an unreadable value fails every typed read of the key.
            Err(e) => vec![Entry::Other(format!("an unreadable value ({e})"))],
        }
    }

    /// The fields of the map under `key` of `obj`, which must be present.
    fn req_fields(
        &self,
        obj: &Fields<'a>,
        key: &str,
        path: &[&str],
    ) -> Result<Fields<'a>, VisitDocError> {
        Ok(self.fields(&obj.req_map(key, path)?))
    }
}

/// One field's value, as read in a pass over its map.
pub(crate) enum Entry {
    Str(String),
    Null,
    Bool(bool),
    Uint(u64),
    Int(i64),
    /// Any other scalar, described for error messages.
    Other(String),
    Object(ObjType, ObjId),
}

impl Entry {
    fn of_scalar(s: &ScalarValueRef<'_>) -> Entry {
        match s {
            ScalarValueRef::Str(t) => Entry::Str(t.to_string()),
            ScalarValueRef::Null => Entry::Null,
            ScalarValueRef::Boolean(b) => Entry::Bool(*b),
            ScalarValueRef::Uint(n) => Entry::Uint(*n),
            ScalarValueRef::Int(n) => Entry::Int(*n),
            other => Entry::Other(other.to_string()),
        }
    }

    fn of_value(s: &ScalarValue) -> Entry {
        match s {
            ScalarValue::Str(t) => Entry::Str(t.to_string()),
            ScalarValue::Null => Entry::Null,
            ScalarValue::Boolean(b) => Entry::Bool(*b),
            ScalarValue::Uint(n) => Entry::Uint(*n),
            ScalarValue::Int(n) => Entry::Int(*n),
            other => Entry::Other(other.to_string()),
        }
    }

    /// Whether two values are the same scalar (objects never are: each is its own).
    fn same(&self, other: &Entry) -> bool {
        match (self, other) {
            (Entry::Str(a), Entry::Str(b)) => a == b,
            (Entry::Null, Entry::Null) => true,
            (Entry::Bool(a), Entry::Bool(b)) => a == b,
            (Entry::Uint(a), Entry::Uint(b)) => a == b,
            (Entry::Int(a), Entry::Int(b)) => a == b,
            _ => false,
        }
    }

    /// What the value is, for error messages.
    fn describe(&self) -> String {
        match self {
            Entry::Str(t) => format!("{t:?}"),
            Entry::Null => "null".into(),
            Entry::Bool(b) => b.to_string(),
            Entry::Uint(n) => n.to_string(),
            Entry::Int(n) => n.to_string(),
            Entry::Other(d) => d.clone(),
            Entry::Object(t, _) => format!("a {t}"),
        }
    }
}

/// The fields of one map.
pub(crate) struct Fields<'a> {
    view: View<'a>,
    pub(crate) entries: Vec<(String, Entry)>,
    /// For each key written concurrently, all of its values.
    others: Vec<(String, Vec<Entry>)>,
}

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, e)| e)
    }

    /// Every concurrent value of `key` when it has several, else nothing: each typed read
    /// checks these as it checks the visible value.
    fn concurrent(&self, key: &str) -> &[Entry] {
        self.others
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    /// Refuses concurrent values of a field that never changes once written (the header).
    fn unchanging(&self, key: &str, path: &[&str]) -> Result<(), VisitDocError> {
        let values = self.concurrent(key);
        match values.split_first() {
            Some((first, rest)) if rest.iter().any(|v| !v.same(first)) => Err(malformed(
                &with(path, key),
                format!(
                    "is written once, but has concurrent values {}",
                    values
                        .iter()
                        .map(Entry::describe)
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// A string field: absent or null is `None`; a text object reads as its text.
    fn opt_str(&self, key: &str, path: &[&str]) -> Result<Option<String>, VisitDocError> {
        for other in self.concurrent(key) {
            self.entry_str(Some(other), key, path)?;
        }
        self.entry_str(self.get(key), key, path)
    }

    fn entry_str(
        &self,
        entry: Option<&Entry>,
        key: &str,
        path: &[&str],
    ) -> Result<Option<String>, VisitDocError> {
        match entry {
            None | Some(Entry::Null) => Ok(None),
            Some(Entry::Str(t)) => Ok(Some(t.clone())),
            Some(Entry::Object(ObjType::Text, id)) => Ok(Some(self.view.text(id)?)),
            Some(other) => Err(malformed(
                &with(path, key),
                format!("expected text, found {}", other.describe()),
            )),
        }
    }

    /// Every concurrent value of a string field, parsed (the visible one alone when there is
    /// no conflict); a value that does not parse is malformed.
    fn all_parsed<T>(
        &self,
        key: &str,
        path: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Vec<Option<T>>, VisitDocError> {
        let concurrent = self.concurrent(key);
        let entries: Vec<Option<&Entry>> = if concurrent.is_empty() {
            vec![self.get(key)]
        } else {
            concurrent.iter().map(Some).collect()
        };
        entries
            .into_iter()
            .map(|e| match self.entry_str(e, key, path)? {
                None => Ok(None),
                Some(s) => parse(&s)
                    .map(Some)
                    .ok_or_else(|| malformed(&with(path, key), format!("{s:?} is not valid here"))),
            })
            .collect()
    }

    fn req_str(&self, key: &str, path: &[&str]) -> Result<String, VisitDocError> {
        self.opt_str(key, path)?
            .ok_or_else(|| malformed(&with(path, key), "missing"))
    }

    fn opt_parsed<T>(
        &self,
        key: &str,
        path: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, VisitDocError> {
        for other in self.concurrent(key) {
            if let Some(s) = self.entry_str(Some(other), key, path)?
                && parse(&s).is_none()
            {
                return Err(malformed(
                    &with(path, key),
                    format!("a concurrent value {s:?} is not valid here"),
                ));
            }
        }
        match self.entry_str(self.get(key), key, path)? {
            None => Ok(None),
            Some(s) => parse(&s)
                .map(Some)
                .ok_or_else(|| malformed(&with(path, key), format!("{s:?} is not valid here"))),
        }
    }

    fn req_parsed<T>(
        &self,
        key: &str,
        path: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, VisitDocError> {
        self.opt_parsed(key, path, parse)?
            .ok_or_else(|| malformed(&with(path, key), "missing"))
    }

    fn req_bool(&self, key: &str, path: &[&str]) -> Result<bool, VisitDocError> {
        if self
            .concurrent(key)
            .iter()
            .any(|e| !matches!(e, Entry::Bool(_)))
        {
            return Err(malformed(&with(path, key), "expected true or false"));
        }
        match self.get(key) {
            Some(Entry::Bool(b)) => Ok(*b),
            Some(_) => Err(malformed(&with(path, key), "expected true or false")),
            None => Err(malformed(&with(path, key), "missing")),
        }
    }

    fn req_uint(&self, key: &str, path: &[&str]) -> Result<u64, VisitDocError> {
        if self.concurrent(key).iter().any(|e| match e {
            Entry::Uint(_) => false,
            Entry::Int(n) => *n < 0,
            _ => true,
        }) {
            return Err(malformed(&with(path, key), "expected a whole number"));
        }
        match self.get(key) {
            Some(Entry::Uint(n)) => Ok(*n),
            Some(Entry::Int(n)) if *n >= 0 => Ok(*n as u64),
            Some(_) => Err(malformed(&with(path, key), "expected a whole number")),
            None => Err(malformed(&with(path, key), "missing")),
        }
    }

    fn opt_map(&self, key: &str, path: &[&str]) -> Result<Option<ObjId>, VisitDocError> {
        if self
            .concurrent(key)
            .iter()
            .any(|e| !matches!(e, Entry::Object(ObjType::Map, _)))
        {
            return Err(malformed(
                &with(path, key),
                "expected a map, but a concurrent value is not one",
            ));
        }
        match self.get(key) {
            None => Ok(None),
            Some(Entry::Object(ObjType::Map, id)) => Ok(Some(id.clone())),
            Some(_) => Err(malformed(&with(path, key), "expected a map")),
        }
    }

    /// Every map at `key`: the visible one and any written concurrently, each of which must be
    /// as valid as the visible one.
    fn all_maps(&self, key: &str, path: &[&str]) -> Result<Vec<ObjId>, VisitDocError> {
        let Some(visible) = self.opt_map(key, path)? else {
            return Ok(Vec::new());
        };
        let concurrent: Vec<ObjId> = self
            .concurrent(key)
            .iter()
            .filter_map(|e| match e {
                Entry::Object(_, id) if *id != visible => Some(id.clone()),
                _ => None,
            })
            .collect();
        Ok(std::iter::once(visible).chain(concurrent).collect())
    }

    fn req_map(&self, key: &str, path: &[&str]) -> Result<ObjId, VisitDocError> {
        self.opt_map(key, path)?
            .ok_or_else(|| malformed(&with(path, key), "missing"))
    }

    fn author(&self, key: &str, path: &[&str]) -> Result<Author, VisitDocError> {
        let path_here = with(path, key);
        for other in self.all_maps(key, path)?.iter().skip(1) {
            read_author(&self.view.fields(other), &path_here)?;
        }
        read_author(&self.view.req_fields(self, key, path)?, &path_here)
    }
}

fn read_author(f: &Fields<'_>, path: &[&str]) -> Result<Author, VisitDocError> {
    let name = f.req_str(NAME, path)?;
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(malformed(
            &with(path, NAME),
            format!("a name of 1 to {MAX_NAME_CHARS} characters is required"),
        ));
    }
    Ok(Author {
        user_id: f.req_parsed(USER_ID, path, parse_uuid)?,
        name,
    })
}

/// The longest name an author or officer may have.
const MAX_NAME_CHARS: usize = 200;

/// Each item of the root's `section`, a map keyed by UUID, read by `read`.
fn uuid_map<T>(
    view: View<'_>,
    root: &Fields<'_>,
    section: &str,
    mut read: impl FnMut(&Fields<'_>, &[&str]) -> Result<T, VisitDocError>,
) -> Result<BTreeMap<Uuid, T>, VisitDocError> {
    let mut out = BTreeMap::new();
    let Some(map) = root.opt_map(section, &[])? else {
        return Ok(out);
    };
    let fields = view.fields(&map);
    for (key, _) in &fields.entries {
        let path = [section, key.as_str()];
        let id = parse_uuid(key).ok_or_else(|| malformed(&path, "key is not a UUID"))?;
        let items = fields.all_maps(key, &[section])?;
        for item in items.iter().skip(1) {
            read(&view.fields(item), &path)?;
        }
        if let Some(item) = items.first() {
            out.insert(id, read(&view.fields(item), &path)?);
        }
    }
    Ok(out)
}

fn with<'p>(path: &[&'p str], key: &'p str) -> Vec<&'p str> {
    let mut v = path.to_vec();
    v.push(key);
    v
}

pub(crate) fn parse_uuid(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s).ok()
}

pub(crate) fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Parses a snake_case enum name through its serde form.
pub(crate) fn parse_enum<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// The header, checking the layout version first. The fields that identify the visit are
/// written once, when it is created: concurrent values there would make it two visits.
fn read_header(root: &Fields<'_>) -> Result<VisitHeader, VisitDocError> {
    for key in [
        SCHEMA,
        VISIT_ID,
        LOCATION_ID,
        PACK_ID,
        PACK_VERSION,
        PLAN_ID,
    ] {
        root.unchanging(key, &[])?;
    }
    read_layout(root)?;
    Ok(VisitHeader {
        visit_id: root.req_parsed(VISIT_ID, &[], parse_uuid)?,
        location_id: root.req_parsed(LOCATION_ID, &[], parse_uuid)?,
        pack_id: root.req_str(PACK_ID, &[])?,
        pack_version: root.req_str(PACK_VERSION, &[])?,
        visit_type: root.req_parsed(VISIT_TYPE, &[], parse_enum)?,
        announced: root.req_bool(ANNOUNCED, &[])?,
        started_at: root.req_parsed(STARTED_AT, &[], parse_instant)?,
        plan_id: root.opt_parsed(PLAN_ID, &[], parse_uuid)?,
    })
}

/// The document's layout version, which must be one this version reads.
pub(crate) fn read_layout(root: &Fields<'_>) -> Result<Layout, VisitDocError> {
    let version = root.req_uint(SCHEMA, &[])?;
    Layout::of_version(version).ok_or_else(|| {
        malformed(
            &[SCHEMA],
            format!("unsupported layout version {version}: this version of Accredit reads 1 and 2"),
        )
    })
}

fn read_officer(officers: &Fields<'_>, key: &str) -> Result<Option<(Uuid, String)>, VisitDocError> {
    let id = parse_uuid(key).ok_or_else(|| malformed(&[OFFICERS, key], "key is not a UUID"))?;
    Ok(officers.opt_str(key, &[OFFICERS])?.map(|name| (id, name)))
}

/// A criterion's result. With the visit's pack, also what only the pack can say: the item is
/// keyed as the layout keys the criterion ([`Layout::result_key`]), the criterion is the pack's,
/// and every concurrent score is on the criterion's scale.
fn read_result(
    f: &Fields<'_>,
    path: &[&str],
    layout: Layout,
    pack: Option<&FrameworkPack>,
) -> Result<(String, CriterionResult), VisitDocError> {
    let criterion = match layout {
        Layout::UuidKeys => {
            f.unchanging(CRITERION, path)?;
            f.req_str(CRITERION, path)?
        }
        Layout::CriterionKeys => match path.last() {
            Some(key) => (*key).to_owned(),
            None => return Err(malformed(path, "a result needs a key")),
        },
    };
    let answers = f.all_parsed(ANSWER, path, decode_answer)?;
    let answer = f.opt_parsed(ANSWER, path, decode_answer)?;
    let notes = f.opt_str(NOTES, path)?.unwrap_or_default();
    if let Some(pack) = pack {
        let Some((_, c)) = pack.criterion(&criterion) else {
            return Err(malformed(
                &match layout {
                    Layout::UuidKeys => with(path, CRITERION),
                    Layout::CriterionKeys => path.to_vec(),
                },
                format!(
                    "criterion {criterion:?} is not in framework pack {}@{}",
                    pack.id, pack.version
                ),
            ));
        };
        let key = layout.result_key(&pack.id, &pack.version, &criterion);
        if path.last() != Some(&key.as_str()) {
            return Err(malformed(
                path,
                format!("the result of criterion {criterion} must be keyed {key}"),
            ));
        }
        for score in answers.into_iter().flatten().filter_map(|a| match a {
            Answer::Score(s) => Some(s),
            _ => None,
        }) {
            if !c.scale.contains(score) {
                return Err(malformed(
                    &with(path, ANSWER),
                    format!(
                        "{score} is outside the scale {}–{} of criterion {criterion}",
                        c.scale.min, c.scale.max
                    ),
                ));
            }
        }
    }
    Ok((criterion, CriterionResult { answer, notes }))
}

/// A reference from an item to a criterion must name one of the pack's.
fn check_criterion_ref(
    criterion: Option<&str>,
    path: &[&str],
    pack: Option<&FrameworkPack>,
) -> Result<(), VisitDocError> {
    match (criterion, pack) {
        (Some(c), Some(pack)) if pack.criterion(c).is_none() => Err(malformed(
            &with(path, CRITERION),
            format!(
                "criterion {c:?} is not in framework pack {}@{}",
                pack.id, pack.version
            ),
        )),
        _ => Ok(()),
    }
}

/// The checks an item gets beyond its layout when the pack is known.
fn check_item(
    section: &str,
    f: &Fields<'_>,
    path: &[&str],
    pack: Option<&FrameworkPack>,
) -> Result<(), VisitDocError> {
    if pack.is_none() {
        return Ok(());
    }
    match section {
        EVIDENCE => check_criterion_ref(read_evidence(f, path)?.criterion.as_deref(), path, pack),
        PHOTOS => check_criterion_ref(read_photo(f, path)?.criterion.as_deref(), path, pack),
        ACTIONS => {
            let action = read_action(f, path)?;
            if action.description.trim().is_empty() {
                return Err(malformed(
                    &with(path, DESCRIPTION),
                    "an action needs a description",
                ));
            }
            check_criterion_ref(action.criterion.as_deref(), path, pack)
        }
        RESOLUTIONS => {
            let resolution = read_resolution(f, path)?;
            if resolution.reason.trim().is_empty() {
                return Err(malformed(
                    &with(path, REASON),
                    "a resolution needs a reason",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn read_evidence(f: &Fields<'_>, path: &[&str]) -> Result<Evidence, VisitDocError> {
    Ok(Evidence {
        criterion: f.opt_str(CRITERION, path)?,
        kind: f.req_parsed(KIND, path, parse_enum)?,
        text: f.opt_str(TEXT, path)?.unwrap_or_default(),
        photo: f.opt_parsed(PHOTO, path, parse_uuid)?,
    })
}

fn read_photo(f: &Fields<'_>, path: &[&str]) -> Result<PhotoRef, VisitDocError> {
    Ok(PhotoRef {
        hash: f.req_parsed(HASH, path, |s| is_blob_hash(s).then(|| s.to_owned()))?,
        size: f.req_uint(SIZE, path)?,
        width: u32::try_from(f.req_uint(WIDTH, path)?)
            .map_err(|_| malformed(path, "width out of range"))?,
        height: u32::try_from(f.req_uint(HEIGHT, path)?)
            .map_err(|_| malformed(path, "height out of range"))?,
        taken_at: f.req_parsed(TAKEN_AT, path, parse_instant)?,
        caption: f.opt_str(CAPTION, path)?.unwrap_or_default(),
        criterion: f.opt_str(CRITERION, path)?,
    })
}

fn read_action(f: &Fields<'_>, path: &[&str]) -> Result<VisitAction, VisitDocError> {
    Ok(VisitAction {
        criterion: f.opt_str(CRITERION, path)?,
        priority: f.req_parsed(PRIORITY, path, parse_enum)?,
        description: f.opt_str(DESCRIPTION, path)?.unwrap_or_default(),
        owner: f.opt_str(OWNER, path)?.unwrap_or_default(),
        due_on: f.opt_parsed(DUE_ON, path, parse_date)?,
        status: f.req_parsed(STATUS, path, parse_enum)?,
        completed_on: f.opt_parsed(COMPLETED_ON, path, parse_date)?,
    })
}

fn read_resolution(f: &Fields<'_>, path: &[&str]) -> Result<Resolution, VisitDocError> {
    Ok(Resolution {
        path: f
            .req_str(PATH, path)?
            .split('/')
            .map(str::to_owned)
            .collect(),
        chosen: f.req_str(CHOSEN, path)?,
        reason: f.req_str(REASON, path)?,
        by: f.author(BY, path)?,
        at: f.req_parsed(AT, path, parse_instant)?,
    })
}

/// Reads the whole document into plain data, checking its layout (every concurrent value too).
pub(crate) fn read_snapshot(view: View<'_>) -> Result<VisitSnapshot, VisitDocError> {
    read_snapshot_with(view, None)
}

/// Reads the whole document as [`read_snapshot`] does and also checks it against its framework
/// pack, which must be in `packs`: results for exactly the pack's criteria, scores on their
/// scales, references to criteria of the pack.
pub(crate) fn read_snapshot_checked(
    view: View<'_>,
    packs: &PackLibrary,
) -> Result<VisitSnapshot, VisitDocError> {
    read_snapshot_with(view, Some(packs))
}

/// The visit's pack from `packs`; a visit on a pack the reader does not know cannot be checked.
fn pack_of<'p>(
    header: &VisitHeader,
    packs: &'p PackLibrary,
) -> Result<&'p FrameworkPack, VisitDocError> {
    packs
        .get(&header.pack_id, &header.pack_version)
        .ok_or_else(|| {
            VisitDocError::Invalid(format!(
                "framework pack {}@{} is not known here",
                header.pack_id, header.pack_version
            ))
        })
}

fn read_snapshot_with(
    view: View<'_>,
    packs: Option<&PackLibrary>,
) -> Result<VisitSnapshot, VisitDocError> {
    let root = view.fields(&ROOT);
    let header = read_header(&root)?;
    let layout = read_layout(&root)?;
    let pack = packs.map(|p| pack_of(&header, p)).transpose()?;
    let created_by = root.author(CREATED_BY, &[])?;
    let ended_at = root.opt_parsed(ENDED_AT, &[], parse_instant)?;

    let mut officers = BTreeMap::new();
    if let Some(map) = root.opt_map(OFFICERS, &[])? {
        let fields = view.fields(&map);
        for (key, _) in &fields.entries {
            if let Some((id, name)) = read_officer(&fields, key)? {
                officers.insert(id, name);
            }
        }
    }

    let mut results = BTreeMap::new();
    if let Some(map) = root.opt_map(RESULTS, &[])? {
        let fields = view.fields(&map);
        for (key, _) in &fields.entries {
            let path = [RESULTS, key.as_str()];
            let items = fields.all_maps(key, &[RESULTS])?;
            for item in items.iter().skip(1) {
                read_result(&view.fields(item), &path, layout, pack)?;
            }
            if let Some(item) = items.first() {
                let (criterion, result) = read_result(&view.fields(item), &path, layout, pack)?;
                results.insert(criterion, result);
            }
        }
    }
    if let Some(pack) = pack
        && let Some(missing) = pack.criteria().find(|c| !results.contains_key(&c.id))
    {
        return Err(malformed(
            &[RESULTS],
            format!(
                "criterion {} has no result: a visit holds a result for every criterion of its pack from the start",
                missing.id
            ),
        ));
    }

    let evidence = uuid_map(view, &root, EVIDENCE, |f, path| {
        check_item(EVIDENCE, f, path, pack)?;
        read_evidence(f, path)
    })?;
    let photos = uuid_map(view, &root, PHOTOS, |f, path| {
        check_item(PHOTOS, f, path, pack)?;
        read_photo(f, path)
    })?;
    let actions = uuid_map(view, &root, ACTIONS, |f, path| {
        check_item(ACTIONS, f, path, pack)?;
        read_action(f, path)
    })?;
    let resolutions = uuid_map(view, &root, RESOLUTIONS, |f, path| {
        check_item(RESOLUTIONS, f, path, pack)?;
        read_resolution(f, path)
    })?;
    let migrations = uuid_map(view, &root, MIGRATIONS, read_pack_move)?;
    if let Some(pack) = pack {
        check_migrations(&migrations, pack, packs)?;
    }
    let mut signoffs = root.all_maps(SIGNOFF, &[])?.into_iter();
    let signoff = match signoffs.next() {
        None => None,
        Some(map) => {
            for other in signoffs {
                read_signoff(&view.fields(&other))?;
            }
            Some(read_signoff(&view.fields(&map))?)
        }
    };
    let signatures = read_signatures(view, &root)?;
    let annotations = read_annotations(view, &root, &photos)?;
    Ok(VisitSnapshot {
        header,
        created_by,
        ended_at,
        officers,
        results,
        evidence,
        photos,
        actions,
        resolutions,
        signoff,
        migrations,
        signatures,
        annotations,
    })
}

/// The one map at `key` of a section item: items of signatures and annotations are written once
/// under a fresh UUID, so two maps at one key are not two people's work but a malformed change.
fn single_map(f: &Fields<'_>, key: &str, path: &[&str]) -> Result<ObjId, VisitDocError> {
    let maps = f.all_maps(key, path)?;
    match maps.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(malformed(&with(path, key), "expected a map")),
        _ => Err(malformed(
            &with(path, key),
            "is written once, but was written twice concurrently",
        )),
    }
}

/// Every signature. The `signatures` map is made by the first device to take one, so two devices
/// may each have made it: both are read, and no signature is lost.
fn read_signatures(
    view: View<'_>,
    root: &Fields<'_>,
) -> Result<BTreeMap<Uuid, Signature>, VisitDocError> {
    let mut out = BTreeMap::new();
    for map in root.all_maps(SIGNATURES, &[])? {
        let fields = view.fields(&map);
        for (key, _) in &fields.entries {
            let path = [SIGNATURES, key.as_str()];
            let id = parse_uuid(key).ok_or_else(|| malformed(&path, "key is not a UUID"))?;
            let item = single_map(&fields, key, &[SIGNATURES])?;
            out.insert(id, read_signature(view, &view.fields(&item), &path)?);
        }
    }
    Ok(out)
}

fn read_heads(f: &Fields<'_>, path: &[&str]) -> Result<Vec<String>, VisitDocError> {
    let heads: Vec<String> = f
        .req_str(HEADS, path)?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if heads.iter().any(|h| h.parse::<ChangeHash>().is_err()) {
        return Err(malformed(
            &with(path, HEADS),
            "expected change hashes (hex) separated by commas",
        ));
    }
    Ok(heads)
}

fn read_signature(
    view: View<'_>,
    f: &Fields<'_>,
    path: &[&str],
) -> Result<Signature, VisitDocError> {
    for key in [NAME, ROLE, SIGNED_AT, HEADS, WIDTH, HEIGHT, STROKES] {
        f.unchanging(key, path)?;
    }
    let heads = read_heads(f, path)?;
    // The record signed must be in this document's history, or "changed since" means nothing.
    for h in &heads {
        let known = h
            .parse::<ChangeHash>()
            .ok()
            .and_then(|hash| view.doc.get_change_by_hash(&hash))
            .is_some();
        if !known {
            return Err(malformed(
                &with(path, HEADS),
                format!("names change {h}, which this document does not hold"),
            ));
        }
    }
    let size = |key: &str| -> Result<u32, VisitDocError> {
        u32::try_from(f.req_uint(key, path)?)
            .map_err(|_| malformed(&with(path, key), "out of range"))
    };
    let signature = Signature {
        name: f.req_str(NAME, path)?,
        role: f.req_str(ROLE, path)?,
        signed_at: f.req_parsed(SIGNED_AT, path, parse_instant)?,
        heads,
        width: size(WIDTH)?,
        height: size(HEIGHT)?,
        strokes: f.req_parsed(STROKES, path, decode_strokes)?,
        taken_by: f.author(TAKEN_BY, path)?,
    };
    if let Some(problem) = signature_problem(
        &signature.name,
        &signature.role,
        signature.width,
        signature.height,
        &signature.strokes,
    ) {
        return Err(malformed(path, problem));
    }
    Ok(signature)
}

/// Every mark on every photo: `annotations` → photo hash → mark id → mark. Like signatures, the
/// maps above the marks are made by whichever device marks a photo first, so all of them are
/// read: two monitors marking the same photo offline both keep their marks.
fn read_annotations(
    view: View<'_>,
    root: &Fields<'_>,
    photos: &BTreeMap<Uuid, PhotoRef>,
) -> Result<BTreeMap<Uuid, PhotoAnnotation>, VisitDocError> {
    let mut out = BTreeMap::new();
    for map in root.all_maps(ANNOTATIONS, &[])? {
        let by_photo = view.fields(&map);
        for (hash, _) in &by_photo.entries {
            let photo_path = [ANNOTATIONS, hash.as_str()];
            let Some(photo) = photos.values().find(|p| &p.hash == hash) else {
                return Err(malformed(
                    &photo_path,
                    "marks a photo this visit does not hold",
                ));
            };
            for marks in by_photo.all_maps(hash, &[ANNOTATIONS])? {
                let marks = view.fields(&marks);
                for (key, _) in &marks.entries {
                    let path = [ANNOTATIONS, hash.as_str(), key.as_str()];
                    let id =
                        parse_uuid(key).ok_or_else(|| malformed(&path, "key is not a UUID"))?;
                    let item = single_map(&marks, key, &photo_path)?;
                    out.insert(id, read_annotation(&view.fields(&item), &path, photo)?);
                }
            }
        }
    }
    Ok(out)
}

fn read_annotation(
    f: &Fields<'_>,
    path: &[&str],
    photo: &PhotoRef,
) -> Result<PhotoAnnotation, VisitDocError> {
    for key in [KIND, POINTS, LABEL, AT] {
        f.unchanging(key, path)?;
    }
    let kind: AnnotationKind = f.req_parsed(KIND, path, parse_enum)?;
    let points = f.req_parsed(POINTS, path, decode_points)?;
    let label = f.opt_str(LABEL, path)?.unwrap_or_default();
    if let Some(problem) = annotation_problem(kind, &points, &label, photo.width, photo.height) {
        return Err(malformed(path, problem));
    }
    Ok(PhotoAnnotation {
        photo_hash: photo.hash.clone(),
        kind,
        points,
        label,
        by: f.author(BY, path)?,
        at: f.req_parsed(AT, path, parse_instant)?,
    })
}

/// A move to another pack version, as [`VisitDoc::migrate_to`](super::VisitDoc::migrate_to)
/// records it: every reason with exactly its fields, every listed criterion among the previous
/// results.
fn read_pack_move(f: &Fields<'_>, path: &[&str]) -> Result<PackMove, VisitDocError> {
    let from_version = f.req_str(FROM_VERSION, path)?;
    let to_version = f.req_str(TO_VERSION, path)?;
    if from_version.trim().is_empty() || from_version == to_version {
        return Err(malformed(
            &with(path, FROM_VERSION),
            "must name a version other than to_version",
        ));
    }
    let mut previous = BTreeMap::new();
    let prev_path = with(path, PREVIOUS);
    let prev = f.view.req_fields(f, PREVIOUS, path)?;
    for (key, _) in &prev.entries {
        let item_path = with(&prev_path, key.as_str());
        let Some(item) = prev.opt_map(key, &prev_path)? else {
            return Err(malformed(&item_path, "expected a map"));
        };
        let item = f.view.fields(&item);
        previous.insert(
            key.clone(),
            CriterionResult {
                answer: item.opt_parsed(ANSWER, &item_path, decode_answer)?,
                notes: item.opt_str(NOTES, &item_path)?.unwrap_or_default(),
            },
        );
    }
    let list_path = with(path, NOT_CARRIED);
    let list = f.view.req_fields(f, NOT_CARRIED, path)?;
    let mut numbered = Vec::new();
    for (key, _) in &list.entries {
        let item_path = with(&list_path, key.as_str());
        let index: usize = key
            .parse()
            .map_err(|_| malformed(&item_path, "key is not a number"))?;
        let Some(item) = list.opt_map(key, &list_path)? else {
            return Err(malformed(&item_path, "expected a map"));
        };
        let item = f.view.fields(&item);
        let into = item.opt_str(INTO, &item_path)?;
        let carried_from = item.opt_str(CARRIED_FROM, &item_path)?;
        let reason = match (
            item.req_str(REASON, &item_path)?.as_str(),
            into,
            carried_from,
        ) {
            ("removed", None, None) => NotCarriedReason::Removed,
            ("merged", Some(into), Some(carried_from)) => {
                NotCarriedReason::Merged { into, carried_from }
            }
            ("off_scale", Some(into), None) => NotCarriedReason::OffScale { into },
            (other, _, _) => {
                return Err(malformed(
                    &with(&item_path, REASON),
                    format!(
                        "{other:?} is not a reason with its fields (removed; merged with into and carried_from; off_scale with into)"
                    ),
                ));
            }
        };
        let criterion = item.req_str(CRITERION, &item_path)?;
        if !previous.contains_key(&criterion) {
            return Err(malformed(
                &with(&item_path, CRITERION),
                format!("criterion {criterion:?} is not among the previous results"),
            ));
        }
        numbered.push((
            index,
            NotCarried {
                criterion,
                answer: item.opt_parsed(ANSWER, &item_path, decode_answer)?,
                notes: item.opt_str(NOTES, &item_path)?.unwrap_or_default(),
                reason,
            },
        ));
    }
    numbered.sort_by_key(|(i, _)| *i);
    Ok(PackMove {
        from_version,
        to_version,
        previous,
        not_carried: numbered.into_iter().map(|(_, n)| n).collect(),
        by: f.author(BY, path)?,
        at: f.req_parsed(AT, path, parse_instant)?,
    })
}

/// With the visit's pack known: a migrated visit's moves end at its version, and each move's
/// previous results are criteria of the version it moved from, when that version is known here.
fn check_migrations(
    migrations: &BTreeMap<Uuid, PackMove>,
    pack: &FrameworkPack,
    packs: Option<&PackLibrary>,
) -> Result<(), VisitDocError> {
    if migrations.is_empty() {
        return Ok(());
    }
    if !migrations.values().any(|m| m.to_version == pack.version) {
        return Err(malformed(
            &[MIGRATIONS],
            format!("no move ends at the visit's pack version {}", pack.version),
        ));
    }
    for (id, m) in migrations {
        let Some(from) = packs.and_then(|p| p.get(&pack.id, &m.from_version)) else {
            continue;
        };
        if let Some(unknown) = m.previous.keys().find(|c| from.criterion(c).is_none()) {
            return Err(malformed(
                &[
                    MIGRATIONS,
                    id.to_string().as_str(),
                    PREVIOUS,
                    unknown.as_str(),
                ],
                format!(
                    "criterion {unknown:?} is not in framework pack {}@{}",
                    pack.id, m.from_version
                ),
            ));
        }
    }
    Ok(())
}

fn read_signoff(f: &Fields<'_>) -> Result<SignOff, VisitDocError> {
    let heads = read_heads(f, &[SIGNOFF])?;
    Ok(SignOff {
        by: f.author(BY, &[SIGNOFF])?,
        at: f.req_parsed(AT, &[SIGNOFF], parse_instant)?,
        heads,
    })
}

/// What a checked set of changes left in a visit document.
#[derive(Clone, Debug)]
pub struct ChangeCheck {
    /// The header after the changes.
    pub header: VisitHeader,
    /// The document holds a sign-off.
    pub signed_off: bool,
    /// A photo reference was added, changed or removed.
    pub photos_touched: bool,
    /// Who made the checked changes, from the document's `authors` map: every change's actor
    /// must be registered there. The server requires them all to be the syncing user.
    pub change_authors: Vec<Author>,
}

/// The part of a document a set of changes reached.
enum Reach {
    /// Something at the root or outside the item maps: read everything.
    Everything,
    /// Items of the keyed sections, as (section, key).
    Items(std::collections::BTreeSet<(String, String)>),
}

/// Where the operations of `changes` landed, found from each operation's object and key: far
/// cheaper than diffing the document between the two sets of heads.
fn reach(doc: &AutoCommit, changes: &[automerge::Change]) -> Reach {
    let mut items = std::collections::BTreeSet::new();
    let mut paths: std::collections::HashMap<String, Option<(String, Option<String>)>> =
        std::collections::HashMap::new();
    for change in changes {
        for op in change.decode().operations {
            let automerge::legacy::ObjectId::Id(automerge::legacy::OpId(counter, actor)) = &op.obj
            else {
                // An operation on the root itself.
                return Reach::Everything;
            };
            let obj = format!("{counter}@{}", actor.to_hex_string());
            // (section, item) of the object, `None` if it is not under a keyed section.
            let place = paths
                .entry(obj)
                .or_insert_with_key(|obj| {
                    let id = doc.import_obj(obj).ok()?;
                    let path = doc.parents(&id).ok()?.path();
                    let key = |i: usize| match path.get(i) {
                        Some((_, Prop::Map(k))) => Some(k.clone()),
                        _ => None,
                    };
                    Some((key(0)?, key(1)))
                })
                .clone();
            let Some((section, item)) = place else {
                return Reach::Everything;
            };
            if ![
                OFFICERS,
                RESULTS,
                EVIDENCE,
                PHOTOS,
                ACTIONS,
                RESOLUTIONS,
                SIGNATURES,
                ANNOTATIONS,
            ]
            .contains(&section.as_str())
            {
                return Reach::Everything;
            }
            let item = match (item, &op.key) {
                (Some(item), _) => item,
                // An operation on the section map itself names the item by its key.
                (None, automerge::legacy::Key::Map(k)) => k.to_string(),
                (None, _) => return Reach::Everything,
            };
            items.insert((section, item));
        }
    }
    Reach::Items(items)
}

/// Refuses changes that edit a criterion's result which was already gone from the visit at
/// `before`: a device that kept editing a draft offline while another moved it to a newer pack
/// version. Automerge would hide such an edit in the merged document, so it would be lost
/// silently; refused, the device keeps it and its monitor can re-enter it on the new version.
fn no_edits_to_removed_results(
    doc: &AutoCommit,
    before: &[ChangeHash],
    changes: &[automerge::Change],
) -> Result<(), VisitDocError> {
    // Objects made by these changes are new here, not removed earlier.
    let made_here = |counter: u64, actor: &automerge::ActorId| {
        changes.iter().any(|c| {
            c.actor_id() == actor
                && counter >= c.start_op().get()
                && counter < c.start_op().get() + c.len() as u64
        })
    };
    let was = View {
        doc,
        heads: Some(before),
    };
    let mut was_keys: Option<Vec<String>> = None;
    let mut seen = std::collections::HashSet::new();
    for change in changes {
        for op in change.decode().operations {
            let automerge::legacy::ObjectId::Id(automerge::legacy::OpId(counter, actor)) = &op.obj
            else {
                continue;
            };
            if made_here(*counter, actor) || !seen.insert((*counter, actor.clone())) {
                continue;
            }
            let Ok(id) = doc.import_obj(&format!("{counter}@{}", actor.to_hex_string())) else {
                continue;
            };
            let Ok(parents) = doc.parents(&id) else {
                continue;
            };
            let path = parents.path();
            let key = match (path.first(), path.get(1)) {
                (Some((_, Prop::Map(section))), Some((_, Prop::Map(key))))
                    if section == RESULTS =>
                {
                    key.clone()
                }
                _ => continue,
            };
            let visible_now = doc
                .parents(&id)
                .ok()
                .and_then(|p| p.visible_path())
                .is_some();
            if visible_now {
                continue;
            }
            let keys = match &was_keys {
                Some(k) => k,
                None => was_keys.insert(match was.opt_map(&ROOT, RESULTS, &[])? {
                    Some(map) => was.keys(&map),
                    None => Vec::new(),
                }),
            };
            if !keys.contains(&key) {
                return Err(malformed(
                    &[RESULTS, key.as_str()],
                    "edits a criterion's result that is no longer in the visit (the draft moved to another pack version): enter it again on the visit's version",
                ));
            }
        }
    }
    Ok(())
}

/// Checks the changes since `before` by reading only what they reached (the header always), on
/// the grounds that the document as of `before` was checked already. Gives the same verdict as
/// reading the whole document, at a fraction of the cost for the usual few edits. Everything is
/// checked against the visit's pack, which must be in `packs`, and the fields that identify the
/// visit must be as they were at `before`.
pub(crate) fn check_changes(
    doc: &mut AutoCommit,
    before: &[ChangeHash],
    packs: &PackLibrary,
) -> Result<ChangeCheck, VisitDocError> {
    // Who made every change the checked state has beyond `before` (all of them for a new
    // visit): from the changes' metadata, which is far cheaper than rebuilding the changes.
    let mut actors: Vec<String> = doc
        .get_changes_meta(before)
        .iter()
        .map(|m| m.actor.to_hex_string())
        .collect();
    actors.sort();
    actors.dedup();
    // A new visit is read whole anyway: finding what its changes reached would only cost time.
    let reached = if before.is_empty() {
        Reach::Everything
    } else {
        let changes = doc.get_changes(before);
        no_edits_to_removed_results(doc, before, &changes)?;
        reach(doc, &changes)
    };
    let view = View { doc, heads: None };
    let items = match reached {
        Reach::Items(items) => items,
        Reach::Everything => {
            let snapshot = read_snapshot_checked(view, packs)?;
            if !before.is_empty() {
                let was = View {
                    doc,
                    heads: Some(before),
                };
                let was_header = read_header(&was.fields(&ROOT))?;
                let moved = moved_pack(was, &was_header, &snapshot, packs)?;
                same_identity(&was_header, &snapshot.header, moved)?;
                same_creator(was, &snapshot.created_by)?;
                let results: Vec<String> = match was.opt_map(&ROOT, RESULTS, &[])? {
                    Some(map) => was.keys(&map),
                    None => Vec::new(),
                };
                resolved_with_reasons(doc, before, &results)?;
            }
            let change_authors = authors_of(view, &actors)?;
            marks_kept(
                before,
                View {
                    doc,
                    heads: Some(before),
                },
                &snapshot.signatures,
                &snapshot.annotations,
                &change_authors,
            )?;
            return Ok(ChangeCheck {
                header: snapshot.header,
                signed_off: snapshot.signoff.is_some(),
                photos_touched: true,
                change_authors,
            });
        }
    };
    let root = view.fields(&ROOT);
    let header = read_header(&root)?;
    let layout = read_layout(&root)?;
    let pack = Some(pack_of(&header, packs)?);
    let change_authors = authors_of(view, &actors)?;
    if items
        .iter()
        .any(|(s, _)| [SIGNATURES, ANNOTATIONS, PHOTOS].contains(&s.as_str()))
    {
        // Small sections, read whole: their maps may exist in several concurrent copies, and a
        // mark must match a photo the visit still holds.
        let photos = uuid_map(view, &root, PHOTOS, read_photo)?;
        let signatures = read_signatures(view, &root)?;
        let annotations = read_annotations(view, &root, &photos)?;
        let was = View {
            doc,
            heads: Some(before),
        };
        marks_kept(before, was, &signatures, &annotations, &change_authors)?;
    }
    for (section, key) in &items {
        if [SIGNATURES, ANNOTATIONS].contains(&section.as_str()) {
            continue;
        }
        let Some(map) = root.opt_map(section, &[])? else {
            continue;
        };
        let path = [section.as_str(), key.as_str()];
        let fields = view.fields(&map);
        if section == OFFICERS {
            read_officer(&fields, key)?;
            continue;
        }
        if section != RESULTS {
            parse_uuid(key).ok_or_else(|| malformed(&path, "key is not a UUID"))?;
        }
        let maps = fields.all_maps(key, &[section.as_str()])?;
        if maps.is_empty() {
            if fields.get(key).is_some() {
                return Err(malformed(&path, "expected a map"));
            }
            // A removed item is as valid here as in a whole read, which never sees it; but a
            // criterion's result is never removed, or the visit would lose a criterion.
            if section == RESULTS {
                return Err(malformed(
                    &path,
                    "a criterion's result cannot be removed from the visit",
                ));
            }
            continue;
        }
        for item in &maps {
            let f = view.fields(item);
            match section.as_str() {
                RESULTS => {
                    read_result(&f, &path, layout, pack)?;
                }
                other => check_item(other, &f, &path, pack)?,
            }
        }
    }
    let results: Vec<String> = items
        .iter()
        .filter(|(s, _)| s == RESULTS)
        .map(|(_, k)| k.clone())
        .collect();
    resolved_with_reasons(doc, before, &results)?;
    Ok(ChangeCheck {
        header,
        signed_off: root.get(SIGNOFF).is_some(),
        photos_touched: items.iter().any(|(s, _)| s == PHOTOS),
        change_authors,
    })
}

/// A signature is written once and never removed or changed: it vouches for a record, and a
/// signature that could be edited vouches for nothing. A mark on a photo is written once and may
/// only be removed. A new signature or mark must be taken by one of the people whose changes
/// these are, not attributed to someone else.
fn marks_kept(
    before: &[ChangeHash],
    was: View<'_>,
    signatures: &BTreeMap<Uuid, Signature>,
    annotations: &BTreeMap<Uuid, PhotoAnnotation>,
    change_authors: &[Author],
) -> Result<(), VisitDocError> {
    let (was_signatures, was_annotations) = if before.is_empty() {
        (BTreeMap::new(), BTreeMap::new())
    } else {
        let root = was.fields(&ROOT);
        let photos = uuid_map(was, &root, PHOTOS, read_photo)?;
        (
            read_signatures(was, &root)?,
            read_annotations(was, &root, &photos)?,
        )
    };
    for (id, old) in &was_signatures {
        let id_text = id.to_string();
        match signatures.get(id) {
            Some(now) if now == old => {}
            Some(_) => {
                return Err(malformed(
                    &[SIGNATURES, id_text.as_str()],
                    "a signature cannot be changed once made",
                ));
            }
            None => {
                return Err(malformed(
                    &[SIGNATURES, id_text.as_str()],
                    "a signature cannot be removed",
                ));
            }
        }
    }
    for (id, old) in &was_annotations {
        if annotations.get(id).is_some_and(|now| now != old) {
            return Err(malformed(
                &[
                    ANNOTATIONS,
                    old.photo_hash.as_str(),
                    id.to_string().as_str(),
                ],
                "a mark cannot be changed once made (remove it and draw another)",
            ));
        }
    }
    let taken_here = |who: &Author| change_authors.iter().any(|a| a.user_id == who.user_id);
    for (id, s) in signatures {
        if !was_signatures.contains_key(id) && !taken_here(&s.taken_by) {
            return Err(malformed(
                &[SIGNATURES, id.to_string().as_str(), TAKEN_BY],
                "a new signature must be taken by the person whose device sends it",
            ));
        }
    }
    for (id, a) in annotations {
        if !was_annotations.contains_key(id) && !taken_here(&a.by) {
            return Err(malformed(
                &[
                    ANNOTATIONS,
                    a.photo_hash.as_str(),
                    id.to_string().as_str(),
                    BY,
                ],
                "a new mark must be made by the person whose device sends it",
            ));
        }
    }
    Ok(())
}

/// The author of each change, by its actor in the `authors` map; a change by an actor nobody
/// registered cannot be traced to a person, so it is refused.
fn authors_of(view: View<'_>, actors: &[String]) -> Result<Vec<Author>, VisitDocError> {
    let authors = super::conflicts::read_authors(view)?;
    let mut out: Vec<Author> = Vec::new();
    for actor in actors {
        let author = authors.get(actor).ok_or_else(|| {
            malformed(
                &[AUTHORS],
                format!("a change by actor {actor} has no author: register the actor in authors"),
            )
        })?;
        if !out.contains(author) {
            out.push(author.clone());
        }
    }
    Ok(out)
}

/// A score two monitors set differently stays in conflict until someone keeps one of the values
/// with a reason: a change that overwrites two or more differing values of a score (only a device
/// that has seen them all can) must add a resolution for it, choosing a value that now stands.
/// A device that writes over only the value it knew (perhaps agreeing with the other) is not
/// resolving anything, and is allowed.
fn resolved_with_reasons(
    doc: &AutoCommit,
    before: &[ChangeHash],
    result_keys: &[String],
) -> Result<(), VisitDocError> {
    if before.is_empty() || result_keys.is_empty() {
        return Ok(());
    }
    let was = View {
        doc,
        heads: Some(before),
    };
    let now = View { doc, heads: None };
    let (Some(was_results), Some(now_results)) = (
        was.opt_map(&ROOT, RESULTS, &[])?,
        now.opt_map(&ROOT, RESULTS, &[])?,
    ) else {
        return Ok(());
    };
    let mut new_resolutions: Option<Vec<Resolution>> = None;
    for key in result_keys {
        let Some(was_item) = was.opt_map(&was_results, key, &[RESULTS])? else {
            continue;
        };
        let Some(now_item) = now.opt_map(&now_results, key, &[RESULTS])? else {
            continue;
        };
        let current = now.get_all(&now_item, ANSWER)?;
        // The values of `before` that the new changes wrote over.
        let overwritten: Vec<_> = was
            .get_all(&was_item, ANSWER)?
            .into_iter()
            .filter(|(_, op)| !current.iter().any(|(_, o)| o == op))
            .collect();
        if !super::conflicts::disagree(&overwritten) {
            continue;
        }
        let standing: Vec<String> = current
            .iter()
            .map(|(v, _)| super::conflicts::value_text(v))
            .collect();
        let path = format!("{RESULTS}/{key}/{ANSWER}");
        let added = match &new_resolutions {
            Some(r) => r,
            None => new_resolutions.insert(added_resolutions(was, now)?),
        };
        if !added
            .iter()
            .any(|r| r.path.join("/") == path && standing.contains(&r.chosen))
        {
            return Err(malformed(
                &[RESULTS, key.as_str(), ANSWER],
                "two monitors scored this differently: keep one of their scores with a reason (a resolution) before changing it",
            ));
        }
    }
    Ok(())
}

/// The resolutions present now that were not there before.
fn added_resolutions(was: View<'_>, now: View<'_>) -> Result<Vec<Resolution>, VisitDocError> {
    let before: Vec<String> = match was.opt_map(&ROOT, RESOLUTIONS, &[])? {
        Some(map) => was.keys(&map),
        None => Vec::new(),
    };
    let root = now.fields(&ROOT);
    Ok(uuid_map(now, &root, RESOLUTIONS, read_resolution)?
        .into_iter()
        .filter(|(id, _)| !before.contains(&id.to_string()))
        .map(|(_, r)| r)
        .collect())
}

/// Whether the changes moved an unsigned draft to the next version of its pack: a new move in
/// `migrations` from the version it had to the version it has, which declares a mapping from it.
fn moved_pack(
    was: View<'_>,
    was_header: &VisitHeader,
    now: &VisitSnapshot,
    packs: &PackLibrary,
) -> Result<bool, VisitDocError> {
    if was_header.pack_version == now.header.pack_version {
        return Ok(false);
    }
    let known: Vec<String> = match was.opt_map(&ROOT, MIGRATIONS, &[])? {
        Some(map) => was.keys(&map),
        None => Vec::new(),
    };
    let new_move = now.migrations.iter().any(|(id, m)| {
        !known.contains(&id.to_string())
            && m.from_version == was_header.pack_version
            && m.to_version == now.header.pack_version
    });
    let signed = was.opt_map(&ROOT, SIGNOFF, &[])?.is_some();
    let successor = packs
        .successor(&now.header.pack_id, &was_header.pack_version)
        .is_some_and(|p| p.version == now.header.pack_version);
    if new_move && !signed && successor {
        return Ok(true);
    }
    Err(malformed(
        &[PACK_VERSION],
        format!(
            "changes only when an unsigned draft moves to the next version of its pack, recorded in {MIGRATIONS}: it cannot change from {:?} to {:?}",
            was_header.pack_version, now.header.pack_version
        ),
    ))
}

/// The fields that say which visit a document is never change after it is created, except the
/// pack version of a draft moved to a newer version (`moved`, checked by [`moved_pack`]).
fn same_identity(was: &VisitHeader, now: &VisitHeader, moved: bool) -> Result<(), VisitDocError> {
    let fields = [
        (VISIT_ID, was.visit_id.to_string(), now.visit_id.to_string()),
        (
            LOCATION_ID,
            was.location_id.to_string(),
            now.location_id.to_string(),
        ),
        (PACK_ID, was.pack_id.clone(), now.pack_id.clone()),
        (
            PACK_VERSION,
            was.pack_version.clone(),
            now.pack_version.clone(),
        ),
        (
            PLAN_ID,
            format!("{:?}", was.plan_id),
            format!("{:?}", now.plan_id),
        ),
    ];
    for (key, a, b) in fields {
        if a != b && !(moved && key == PACK_VERSION) {
            return Err(malformed(
                &[key],
                format!(
                    "is written once, when the visit is created: it cannot change from {a:?} to {b:?}"
                ),
            ));
        }
    }
    Ok(())
}

fn same_creator(was: View<'_>, now: &Author) -> Result<(), VisitDocError> {
    let creator = was.fields(&ROOT).author(CREATED_BY, &[])?;
    if &creator != now {
        return Err(malformed(
            &[CREATED_BY],
            "is written once, when the visit is created",
        ));
    }
    Ok(())
}

/// Whether `s` is a BLAKE3 content address as Accredit writes them: 64 lower-case hex digits.
pub fn is_blob_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
