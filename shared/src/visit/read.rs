//! Reading a visit document, now or as of given heads, into a [`VisitSnapshot`].

use std::collections::BTreeMap;

use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::{VisitDocError, malformed};
use super::model::*;
use super::schema::*;

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

    /// A string field: absent or null is `None`; a text object reads as its text.
    fn opt_str(
        &self,
        obj: &ObjId,
        key: &str,
        path: &[&str],
    ) -> Result<Option<String>, VisitDocError> {
        match self.get(obj, key)? {
            None => Ok(None),
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(t) => Ok(Some(t.to_string())),
                ScalarValue::Null => Ok(None),
                other => Err(malformed(
                    &with(path, key),
                    format!("expected text, found {other}"),
                )),
            },
            Some((Value::Object(ObjType::Text), id)) => Ok(Some(self.text(&id)?)),
            Some((Value::Object(t), _)) => Err(malformed(
                &with(path, key),
                format!("expected text, found a {t}"),
            )),
        }
    }

    fn req_str(&self, obj: &ObjId, key: &str, path: &[&str]) -> Result<String, VisitDocError> {
        self.opt_str(obj, key, path)?
            .ok_or_else(|| malformed(&with(path, key), "missing"))
    }

    fn opt_parsed<T>(
        &self,
        obj: &ObjId,
        key: &str,
        path: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, VisitDocError> {
        match self.opt_str(obj, key, path)? {
            None => Ok(None),
            Some(s) => parse(&s)
                .map(Some)
                .ok_or_else(|| malformed(&with(path, key), format!("{s:?} is not valid here"))),
        }
    }

    fn req_parsed<T>(
        &self,
        obj: &ObjId,
        key: &str,
        path: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, VisitDocError> {
        self.opt_parsed(obj, key, path, parse)?
            .ok_or_else(|| malformed(&with(path, key), "missing"))
    }

    fn req_bool(&self, obj: &ObjId, key: &str, path: &[&str]) -> Result<bool, VisitDocError> {
        match self.get(obj, key)? {
            Some((Value::Scalar(s), _)) => s
                .as_bool()
                .ok_or_else(|| malformed(&with(path, key), "expected true or false")),
            _ => Err(malformed(&with(path, key), "missing")),
        }
    }

    fn req_uint(&self, obj: &ObjId, key: &str, path: &[&str]) -> Result<u64, VisitDocError> {
        match self.get(obj, key)? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Uint(n) => Ok(*n),
                ScalarValue::Int(n) if *n >= 0 => Ok(*n as u64),
                _ => Err(malformed(&with(path, key), "expected a whole number")),
            },
            _ => Err(malformed(&with(path, key), "missing")),
        }
    }

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

    fn req_map(&self, obj: &ObjId, key: &str, path: &[&str]) -> Result<ObjId, VisitDocError> {
        self.opt_map(obj, key, path)?
            .ok_or_else(|| malformed(&with(path, key), "missing"))
    }

    fn author(&self, obj: &ObjId, path: &[&str]) -> Result<Author, VisitDocError> {
        Ok(Author {
            user_id: self.req_parsed(obj, USER_ID, path, parse_uuid)?,
            name: self.req_str(obj, NAME, path)?,
        })
    }

    /// Each entry of a map keyed by UUID, read by `read`.
    fn uuid_map<T>(
        &self,
        key: &str,
        mut read: impl FnMut(&ObjId, &[&str]) -> Result<T, VisitDocError>,
    ) -> Result<BTreeMap<Uuid, T>, VisitDocError> {
        let mut out = BTreeMap::new();
        let Some(map) = self.opt_map(&ROOT, key, &[])? else {
            return Ok(out);
        };
        for entry in self.keys(&map) {
            let id =
                parse_uuid(&entry).ok_or_else(|| malformed(&[key, &entry], "key is not a UUID"))?;
            let item = self.req_map(&map, &entry, &[key])?;
            out.insert(id, read(&item, &[key, &entry])?);
        }
        Ok(out)
    }
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

/// Reads the whole document into plain data.
pub(crate) fn read_snapshot(view: View<'_>) -> Result<VisitSnapshot, VisitDocError> {
    let root = ROOT;
    let schema = view.req_uint(&root, SCHEMA, &[])?;
    if schema as i64 != SCHEMA_VERSION {
        return Err(malformed(
            &[SCHEMA],
            format!("unsupported layout version {schema}"),
        ));
    }
    let header = VisitHeader {
        visit_id: view.req_parsed(&root, VISIT_ID, &[], parse_uuid)?,
        location_id: view.req_parsed(&root, LOCATION_ID, &[], parse_uuid)?,
        pack_id: view.req_str(&root, PACK_ID, &[])?,
        pack_version: view.req_str(&root, PACK_VERSION, &[])?,
        visit_type: view.req_parsed(&root, VISIT_TYPE, &[], parse_enum)?,
        announced: view.req_bool(&root, ANNOUNCED, &[])?,
        started_at: view.req_parsed(&root, STARTED_AT, &[], parse_instant)?,
    };
    let created_by = view.author(&view.req_map(&root, CREATED_BY, &[])?, &[CREATED_BY])?;
    let ended_at = view.opt_parsed(&root, ENDED_AT, &[], parse_instant)?;

    let mut officers = BTreeMap::new();
    if let Some(map) = view.opt_map(&root, OFFICERS, &[])? {
        for key in view.keys(&map) {
            let id = parse_uuid(&key)
                .ok_or_else(|| malformed(&[OFFICERS, &key], "key is not a UUID"))?;
            if let Some(name) = view.opt_str(&map, &key, &[OFFICERS])? {
                officers.insert(id, name);
            }
        }
    }

    let mut results = BTreeMap::new();
    if let Some(map) = view.opt_map(&root, RESULTS, &[])? {
        for key in view.keys(&map) {
            let path = [RESULTS, key.as_str()];
            let item = view.req_map(&map, &key, &[RESULTS])?;
            let criterion = view.req_str(&item, CRITERION, &path)?;
            let answer = view.opt_parsed(&item, ANSWER, &path, decode_answer)?;
            let notes = view.opt_str(&item, NOTES, &path)?.unwrap_or_default();
            results.insert(criterion, CriterionResult { answer, notes });
        }
    }

    let evidence = view.uuid_map(EVIDENCE, |item, path| {
        Ok(Evidence {
            criterion: view.opt_str(item, CRITERION, path)?,
            kind: view.req_parsed(item, KIND, path, parse_enum)?,
            text: view.opt_str(item, TEXT, path)?.unwrap_or_default(),
            photo: view.opt_parsed(item, PHOTO, path, parse_uuid)?,
        })
    })?;
    let photos = view.uuid_map(PHOTOS, |item, path| {
        Ok(PhotoRef {
            hash: view.req_parsed(item, HASH, path, |s| is_blob_hash(s).then(|| s.to_owned()))?,
            size: view.req_uint(item, SIZE, path)?,
            width: u32::try_from(view.req_uint(item, WIDTH, path)?)
                .map_err(|_| malformed(path, "width out of range"))?,
            height: u32::try_from(view.req_uint(item, HEIGHT, path)?)
                .map_err(|_| malformed(path, "height out of range"))?,
            taken_at: view.req_parsed(item, TAKEN_AT, path, parse_instant)?,
            caption: view.opt_str(item, CAPTION, path)?.unwrap_or_default(),
            criterion: view.opt_str(item, CRITERION, path)?,
        })
    })?;
    let actions = view.uuid_map(ACTIONS, |item, path| {
        Ok(VisitAction {
            criterion: view.opt_str(item, CRITERION, path)?,
            priority: view.req_parsed(item, PRIORITY, path, parse_enum)?,
            description: view.opt_str(item, DESCRIPTION, path)?.unwrap_or_default(),
            owner: view.opt_str(item, OWNER, path)?.unwrap_or_default(),
            due_on: view.opt_parsed(item, DUE_ON, path, parse_date)?,
            status: view.req_parsed(item, STATUS, path, parse_enum)?,
            completed_on: view.opt_parsed(item, COMPLETED_ON, path, parse_date)?,
        })
    })?;
    let resolutions = view.uuid_map(RESOLUTIONS, |item, path| {
        Ok(Resolution {
            path: view
                .req_str(item, PATH, path)?
                .split('/')
                .map(str::to_owned)
                .collect(),
            chosen: view.req_str(item, CHOSEN, path)?,
            reason: view.req_str(item, REASON, path)?,
            by: view.author(&view.req_map(item, BY, path)?, &with(path, BY))?,
            at: view.req_parsed(item, AT, path, parse_instant)?,
        })
    })?;
    let signoff = match view.opt_map(&root, SIGNOFF, &[])? {
        None => None,
        Some(map) => Some(SignOff {
            by: view.author(&view.req_map(&map, BY, &[SIGNOFF])?, &[SIGNOFF, BY])?,
            at: view.req_parsed(&map, AT, &[SIGNOFF], parse_instant)?,
            heads: view
                .req_str(&map, HEADS, &[SIGNOFF])?
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        }),
    };
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
    })
}

/// Whether `s` is a BLAKE3 content address as Accredit writes them: 64 lower-case hex digits.
pub fn is_blob_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
