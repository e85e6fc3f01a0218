//! Draft rule sets: what a commissioner is preparing before adopting it. A draft is stored as
//! the TOML a rule set is stored in, and always loads (the form saves only what validates);
//! adopting it is a separate step with its own rules (`records::add_rule_set`). Commissioners
//! save and delete drafts; leads may read them and run what-if. Saving and deleting are audited.

use accredit_shared::RuleSet;
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::state::{AppState, now_text};

/// A saved draft.
#[derive(Clone, Debug, Serialize)]
pub struct RuleDraft {
    /// Its id.
    pub id: Uuid,
    /// The rule set it holds.
    #[serde(skip)]
    pub rule_set: RuleSet,
    /// Its version.
    pub version: String,
    /// Its start date.
    pub effective_from: NaiveDate,
    /// The scheme's name.
    pub name: String,
    /// Who saved it last.
    pub updated_by: String,
    /// When (RFC 3339).
    pub updated_at: String,
}

fn may_read(caller: &Caller) -> ServiceResult<()> {
    caller.require(&[Role::Commissioner, Role::Lead])
}

type Row = (String, String, String, String);

fn draft_of(row: Row) -> ServiceResult<RuleDraft> {
    let (id, source, updated_by, updated_at) = row;
    let id = Uuid::parse_str(&id).map_err(ServiceError::internal)?;
    // Only drafts that loaded were stored; one that no longer does is a fault to report.
    let rule_set = RuleSet::from_toml(&source)
        .map_err(|e| ServiceError::internal(format!("stored draft {id}: {e}")))?;
    Ok(RuleDraft {
        id,
        version: rule_set.version.clone(),
        effective_from: rule_set.effective_from,
        name: rule_set.name.clone(),
        rule_set,
        updated_by,
        updated_at,
    })
}

const SELECT: &str = "SELECT d.id, d.source, COALESCE(u.display_name, ''), d.updated_at FROM rule_set_drafts d LEFT JOIN users u ON u.id = d.updated_by";

/// Every draft, the latest saved first (leads and commissioners).
pub fn list_drafts(s: &AppState, caller: &Caller) -> ServiceResult<Vec<RuleDraft>> {
    may_read(caller)?;
    s.db.read(|tx| {
        let mut stmt = tx.prepare(&format!("{SELECT} ORDER BY d.updated_at DESC"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<Vec<Row>, _>>()?;
        rows.into_iter().map(draft_of).collect()
    })
}

/// One draft (leads and commissioners).
pub fn get_draft(s: &AppState, caller: &Caller, id: Uuid) -> ServiceResult<RuleDraft> {
    may_read(caller)?;
    s.db.read(|tx| {
        let row: Option<Row> = tx
            .query_row(
                &format!("{SELECT} WHERE d.id = ?1"),
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        draft_of(row.ok_or_else(|| ServiceError::not_found("draft rule set"))?)
    })
}

/// Saves a draft (commissioners): a new one when `id` is `None`, else over the draft with that
/// id. The source must load as a rule set; adopting it is not checked here. Returns its id.
pub fn save_draft(
    s: &AppState,
    caller: &Caller,
    id: Option<Uuid>,
    source: &str,
) -> ServiceResult<Uuid> {
    caller.require(&[Role::Commissioner])?;
    let set = RuleSet::from_toml(source).map_err(|e| ServiceError::invalid(e.to_string()))?;
    let now = now_text();
    let user = caller.user_id.to_string();
    s.db.write(|tx| {
        let id = match id {
            Some(id) => {
                let n = tx.execute(
                    "UPDATE rule_set_drafts SET name = ?2, version = ?3, source = ?4, updated_by = ?5, updated_at = ?6 WHERE id = ?1",
                    params![id.to_string(), set.name, set.version, source, user, now],
                )?;
                if n == 0 {
                    return Err(ServiceError::not_found("draft rule set"));
                }
                id
            }
            None => {
                let id = Uuid::new_v4();
                tx.execute(
                    "INSERT INTO rule_set_drafts (id, name, version, source, created_by, created_at, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?6)",
                    params![id.to_string(), set.name, set.version, source, user, now],
                )?;
                id
            }
        };
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "rule_set_draft.saved",
                subject_type: "rule_set_draft",
                subject_id: Some(id.to_string()),
                location_id: None,
                details: json!({ "version": set.version, "effective_from": set.effective_from }),
            },
        )?;
        Ok(id)
    })
}

/// Deletes a draft (commissioners).
pub fn delete_draft(s: &AppState, caller: &Caller, id: Uuid) -> ServiceResult<()> {
    caller.require(&[Role::Commissioner])?;
    s.db.write(|tx| {
        let version: Option<String> = tx
            .query_row(
                "SELECT version FROM rule_set_drafts WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let version = version.ok_or_else(|| ServiceError::not_found("draft rule set"))?;
        tx.execute(
            "DELETE FROM rule_set_drafts WHERE id = ?1",
            [id.to_string()],
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "rule_set_draft.deleted",
                subject_type: "rule_set_draft",
                subject_id: Some(id.to_string()),
                location_id: None,
                details: json!({ "version": version }),
            },
        )?;
        Ok(())
    })
}

/// A rule set named by a comparison: a draft's id, or a version in the rule book.
pub fn by_reference(
    s: &AppState,
    caller: &Caller,
    reference: &str,
) -> ServiceResult<(String, RuleSet)> {
    may_read(caller)?;
    let reference = reference.trim();
    if let Ok(id) = Uuid::parse_str(reference) {
        let d = get_draft(s, caller, id)?;
        return Ok((format!("Draft {}", d.version), d.rule_set));
    }
    let set = super::records::rule_set(s, reference)?;
    Ok((format!("Version {}", set.version), set))
}
