//! Providers and locations, for commissioners: add and edit them, and record a change of
//! ownership as DOMAIN.md §8 says (a new location with its new CQC location ID, the old one's
//! registration ended, so each owner keeps their own history and tier). Placements are read
//! here and changed through `records::record_placement`, whose rules every caller shares.

use accredit_shared::calendar::add_days;
use accredit_shared::records::{Placement, ServiceType};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::service::records::{Refusal, refuse};
use crate::state::AppState;
use crate::tiers;
use crate::users::{self, NewLocation};

/// Why a CQC location ID is not one, if it is not. CQC writes them as `1-` and 8 to 12 digits
/// (`1-101641431`, `1-10000302982`); their API and register use the same form.
pub fn cqc_id_refusal(id: &str) -> Option<&'static str> {
    let id = id.trim();
    if id.is_empty() {
        return Some("enter the CQC location ID");
    }
    let ok = id.strip_prefix("1-").is_some_and(|digits| {
        (8..=12).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    });
    if ok {
        None
    } else {
        Some(
            "enter the CQC location ID as CQC writes it: 1- and then 8 to 12 digits, like 1-101641431",
        )
    }
}

/// What a commissioner types for a location.
#[derive(Clone, Debug)]
pub struct LocationInput {
    /// The provider that runs it.
    pub provider_id: Option<Uuid>,
    /// A new provider's name, when it is not yet known.
    pub new_provider: String,
    /// CQC location ID.
    pub cqc_location_id: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Kind of service.
    pub service_type: Option<ServiceType>,
    /// First day of registration.
    pub registered_from: Option<NaiveDate>,
    /// Last day, if it has ended.
    pub registered_to: Option<NaiveDate>,
}

/// The rules for a location's fields, each refusal naming its field. `adding` checks the CQC
/// location ID and the provider, which cannot change afterwards.
pub fn check_location(l: &LocationInput, adding: bool) -> Vec<Refusal> {
    let mut out = Vec::new();
    if adding {
        if let Some(why) = cqc_id_refusal(&l.cqc_location_id) {
            out.push(Refusal::new("cqc_location_id", why));
        }
        match (l.provider_id, l.new_provider.trim()) {
            (None, "") => out.push(Refusal::new(
                "provider_id",
                "choose the provider, or type the name of a new one",
            )),
            (Some(_), n) if !n.is_empty() => out.push(Refusal::new(
                "provider_id",
                "choose a provider or type a new one, not both",
            )),
            (_, n) if n.chars().count() > 200 => out.push(Refusal::new(
                "new_provider",
                "a provider's name must be 200 characters or fewer",
            )),
            _ => {}
        }
    }
    let name = l.name.trim();
    if name.is_empty() {
        out.push(Refusal::new("name", "enter the location's name"));
    } else if name.chars().count() > 200 {
        out.push(Refusal::new(
            "name",
            "a name must be 200 characters or fewer",
        ));
    }
    if l.address.trim().chars().count() > 500 {
        out.push(Refusal::new(
            "address",
            "an address must be 500 characters or fewer",
        ));
    }
    if l.service_type.is_none() {
        out.push(Refusal::new("service_type", "choose the kind of service"));
    }
    match (l.registered_from, l.registered_to) {
        (None, _) => out.push(Refusal::new(
            "registered_from",
            "enter the date its registration started",
        )),
        (Some(f), Some(t)) if t < f => out.push(Refusal::new(
            "registered_to",
            "registration cannot end before it started",
        )),
        _ => {}
    }
    out
}

fn provider_of(tx: &Connection, l: &LocationInput) -> ServiceResult<Uuid> {
    match l.provider_id {
        Some(p) => {
            let known = tx
                .query_row(
                    "SELECT 1 FROM providers WHERE id = ?1",
                    [p.to_string()],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if known {
                Ok(p)
            } else {
                Err(ServiceError::invalid("choose a provider from the list"))
            }
        }
        None => users::provider_by_name(tx, &l.new_provider),
    }
}

fn cqc_taken(tx: &Connection, cqc: &str) -> ServiceResult<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM locations WHERE cqc_location_id = ?1",
            [cqc.trim()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Adds a location (and its provider, if new); returns its id.
pub fn add_location(s: &AppState, caller: &Caller, l: &LocationInput) -> ServiceResult<Uuid> {
    caller.require(&[Role::Commissioner])?;
    refuse(check_location(l, true))?;
    let (Some(service_type), Some(registered_from)) = (l.service_type, l.registered_from) else {
        return Err(ServiceError::invalid(
            "choose the kind of service and its registration date",
        ));
    };
    s.db.write(|tx| {
        if cqc_taken(tx, &l.cqc_location_id)? {
            return Err(ServiceError::conflict(
                "a location with this CQC location ID exists already",
            ));
        }
        let provider_id = provider_of(tx, l)?;
        let id = users::upsert_location(
            tx,
            &NewLocation {
                provider_id,
                cqc_location_id: &l.cqc_location_id,
                name: &l.name,
                address: &l.address,
                service_type,
                registered_from,
                registered_to: l.registered_to,
            },
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "location.created",
                subject_type: "location",
                subject_id: Some(id.to_string()),
                location_id: Some(id),
                details: json!({ "provider": provider_id.to_string() }),
            },
        )?;
        tiers::redetermine(s, &s.rules(), tx, &[id], "location.created")?;
        Ok(id)
    })
}

/// Edits a location's name, address, service type and registration dates (its CQC location ID
/// and provider never change: that is a change of ownership). The tier is re-determined.
pub fn edit_location(
    s: &AppState,
    caller: &Caller,
    id: Uuid,
    l: &LocationInput,
) -> ServiceResult<()> {
    caller.require(&[Role::Commissioner])?;
    refuse(check_location(l, false))?;
    let (Some(service_type), Some(registered_from)) = (l.service_type, l.registered_from) else {
        return Err(ServiceError::invalid(
            "choose the kind of service and its registration date",
        ));
    };
    s.db.write(|tx| {
        let (before, address) =
            tiers::location(tx, id)?.ok_or_else(|| ServiceError::not_found("location"))?;
        let mut changed = Vec::new();
        if before.name != l.name.trim() {
            changed.push("name");
        }
        if address != l.address.trim() {
            changed.push("address");
        }
        if before.service_type != service_type {
            changed.push("service_type");
        }
        if before.registered_from != registered_from || before.registered_to != l.registered_to {
            changed.push("registration");
        }
        if changed.is_empty() {
            return Ok(());
        }
        tx.execute(
            "UPDATE locations SET name = ?2, address = ?3, service_type = ?4, registered_from = ?5, registered_to = ?6 WHERE id = ?1",
            params![
                id.to_string(),
                l.name.trim(),
                l.address.trim(),
                tiers::service_text(service_type),
                registered_from.to_string(),
                l.registered_to.map(|d| d.to_string())
            ],
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "location.updated",
                subject_type: "location",
                subject_id: Some(id.to_string()),
                location_id: Some(id),
                details: json!({ "changed": changed }),
            },
        )?;
        tiers::redetermine(s, &s.rules(), tx, &[id], "location.updated")?;
        Ok(())
    })
}

/// A change of ownership: who takes over, under which new CQC location ID, from which day.
#[derive(Clone, Debug)]
pub struct OwnershipChange {
    /// The new provider, if known.
    pub provider_id: Option<Uuid>,
    /// Or a new provider's name.
    pub new_provider: String,
    /// The new CQC location ID (CQC registers the new owner afresh).
    pub cqc_location_id: String,
    /// The first day under the new owner.
    pub from: Option<NaiveDate>,
    /// Move the placements running on that day to the new location.
    pub move_placements: bool,
}

/// What a change of ownership did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnershipChanged {
    /// The new location.
    pub new_location: Uuid,
    /// Placements ended at the old location and started at the new one.
    pub placements_moved: usize,
    /// Monitors who now cover the new location too.
    pub monitors: usize,
}

/// Records a change of ownership: the old location's registration ends the day before, a new
/// location starts (same name, address and service, new CQC location ID and provider) with no
/// tier of its own until it is visited, its monitors carried over, and, if asked, each running
/// placement ended there and started again here, so no resident's premium is lost or paid twice.
pub fn change_ownership(
    s: &AppState,
    caller: &Caller,
    id: Uuid,
    c: &OwnershipChange,
) -> ServiceResult<OwnershipChanged> {
    caller.require(&[Role::Commissioner])?;
    let Some(from) = c.from else {
        return Err(ServiceError::invalid(
            "enter the first day under the new owner",
        ));
    };
    if let Some(why) = cqc_id_refusal(&c.cqc_location_id) {
        return Err(ServiceError::invalid(why));
    }
    let input = LocationInput {
        provider_id: c.provider_id,
        new_provider: c.new_provider.clone(),
        cqc_location_id: c.cqc_location_id.clone(),
        name: String::new(),
        address: String::new(),
        service_type: None,
        registered_from: Some(from),
        registered_to: None,
    };
    if let Some(r) = check_location(&input, true)
        .into_iter()
        .find(|r| r.field == "provider_id" || r.field == "new_provider")
    {
        return Err(ServiceError::invalid(r.message));
    }
    s.db.write(|tx| {
        let (old, address) =
            tiers::location(tx, id)?.ok_or_else(|| ServiceError::not_found("location"))?;
        if from <= old.registered_from {
            return Err(ServiceError::invalid(
                "the change must come after the location's registration started",
            ));
        }
        if old.registered_to.is_some_and(|t| t < from) {
            return Err(ServiceError::invalid(
                "this location's registration had ended by then: record the change at the location that followed it",
            ));
        }
        if cqc_taken(tx, &c.cqc_location_id)? {
            return Err(ServiceError::conflict(
                "a location with this CQC location ID exists already",
            ));
        }
        let provider_id = provider_of(tx, &input)?;
        if provider_id == old.provider_id {
            return Err(ServiceError::invalid(
                "the new owner must be another provider: a location keeps its provider otherwise",
            ));
        }
        let day_before = add_days(from, -1);
        tx.execute(
            "UPDATE locations SET registered_to = ?2 WHERE id = ?1",
            params![id.to_string(), day_before.to_string()],
        )?;
        let new_location = users::upsert_location(
            tx,
            &NewLocation {
                provider_id,
                cqc_location_id: &c.cqc_location_id,
                name: &old.name,
                address: &address,
                service_type: old.service_type,
                registered_from: from,
                registered_to: None,
            },
        )?;
        let monitors = tx.execute(
            "INSERT OR IGNORE INTO caseload (monitor_id, location_id) SELECT monitor_id, ?2 FROM caseload WHERE location_id = ?1",
            params![id.to_string(), new_location.to_string()],
        )?;
        let mut moved = 0;
        if c.move_placements {
            for p in tiers::placements(tx, id)? {
                let running = p.start < from && p.last_day().is_none_or(|l| l >= from);
                if !running {
                    continue;
                }
                let mut ended = p.clone();
                ended.end = Some(day_before);
                ended.hospital_stays = p
                    .hospital_stays
                    .iter()
                    .filter(|h| h.from <= day_before)
                    .map(|h| accredit_shared::records::HospitalStay {
                        from: h.from,
                        to: Some(h.to.map_or(day_before, |t| t.min(day_before))),
                    })
                    .collect();
                let started = Placement {
                    id: Uuid::new_v4(),
                    location_id: new_location,
                    start: from,
                    hospital_stays: p
                        .hospital_stays
                        .iter()
                        .filter(|h| h.to.is_none_or(|t| t >= from))
                        .map(|h| accredit_shared::records::HospitalStay {
                            from: h.from.max(from),
                            to: h.to,
                        })
                        .collect(),
                    ..p.clone()
                };
                for placement in [&ended, &started] {
                    tx.execute(
                        "INSERT INTO placements (id, location_id, data) VALUES (?1, ?2, ?3)
                         ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                        params![
                            placement.id.to_string(),
                            placement.location_id.to_string(),
                            serde_json::to_string(placement)?
                        ],
                    )?;
                }
                moved += 1;
            }
        }
        for (loc, action) in [(id, "location.ownership_ended"), (new_location, "location.ownership_started")] {
            audit::record(
                tx,
                Some(caller),
                Entry {
                    action,
                    subject_type: "location",
                    subject_id: Some(loc.to_string()),
                    location_id: Some(loc),
                    details: json!({
                        "from": from.to_string(),
                        "previous_location": id.to_string(),
                        "new_location": new_location.to_string(),
                        "placements_moved": moved,
                    }),
                },
            )?;
        }
        tiers::redetermine(s, &s.rules(), tx, &[id, new_location], "location.ownership_changed")?;
        Ok(OwnershipChanged {
            new_location,
            placements_moved: moved,
            monitors,
        })
    })
}

/// A location's placements, newest first: commissioners and leads (providers see their own
/// counts elsewhere; resident references stay with the council).
pub fn placements(s: &AppState, caller: &Caller, location: Uuid) -> ServiceResult<Vec<Placement>> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    s.db.read(|tx| {
        tiers::location(tx, location)?.ok_or_else(|| ServiceError::not_found("location"))?;
        let mut v = tiers::placements(tx, location)?;
        v.sort_by(|a, b| {
            (
                a.last_day().is_some(),
                std::cmp::Reverse(a.start),
                &a.resident_ref,
            )
                .cmp(&(
                    b.last_day().is_some(),
                    std::cmp::Reverse(b.start),
                    &b.resident_ref,
                ))
        });
        Ok(v)
    })
}

/// One placement, by id: commissioners.
pub fn placement(s: &AppState, caller: &Caller, id: Uuid) -> ServiceResult<Placement> {
    caller.require(&[Role::Commissioner])?;
    s.db.read(|tx| {
        let data: String = tx
            .query_row(
                "SELECT data FROM placements WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| ServiceError::not_found("placement"))?;
        Ok(serde_json::from_str(&data)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cqc_location_ids_are_read_as_cqc_writes_them() {
        for good in ["1-101641431", "1-10000302982", " 1-12345678 "] {
            assert_eq!(cqc_id_refusal(good), None, "{good}");
        }
        for bad in [
            "",
            "101641431",
            "1-1234567",
            "1-1234567890123",
            "1-10164143a",
            "2-101641431",
            "1-101 641431",
        ] {
            assert!(cqc_id_refusal(bad).is_some(), "{bad}");
        }
    }
}
