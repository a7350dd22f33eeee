//! People: the bulk import of residents and staff from CSV, the staff directory of a place
//! with each member's load, and the people search with its phone masking.

use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::domain::access::{self, Grant};
use crate::domain::people::import::{self, LineRefusal, PersonLine, PlaceRef};
use crate::domain::people::{self, InviteRefusal};
use crate::domain::phone::Phone;
use crate::domain::places::PlacePath;
use crate::error::{AppError, AppResult};
use crate::identity::invite_codes;
use crate::store::StoreError;
use crate::store::identity::Outcome;
use crate::store::people::{AuditContext, ImportRow, NewInviteRow, NewPerson, PeopleQuery};
use hehe_protocol::http::GrantInfo;
use hehe_protocol::people::{
    ImportedPerson, PeopleImportRefusal, PeopleImportReport, PersonInfo, StaffMember,
};
use hehe_protocol::{AccountId, ErrorCode, PlaceId, RequestId, Role};
use std::collections::{BTreeMap, HashMap};

/// The password hash of an imported resident: no password matches it (it is no Argon2 hash),
/// so the account is signed into only after its owner sets one by SMS reset.
pub const NO_PASSWORD: &str = "!unset";

/// The most accounts one search reads to fill a page of those the caller may see.
const SEARCH_SCAN: usize = 5000;

/// One line's outcome, before anything is written.
enum Plan {
    Create {
        line: PersonLine,
        place: PlaceId,
        street: PlaceId,
    },
    Unchanged,
}

/// Imports `csv`: reads and checks every line, and unless `dry_run` or a line is refused,
/// writes them all in one transaction. The report lists what was (or would be) created and
/// every refused line.
pub async fn import(
    state: &AppState,
    who: &Identity,
    csv: &str,
    dry_run: bool,
    request_id: Option<&RequestId>,
) -> AppResult<PeopleImportReport> {
    if !people::invites_somewhere(&who.actor) {
        let mut audit = crate::app::audit::entry(
            state,
            who,
            "people.import",
            format!("account:{}", who.actor.id.0),
            None,
            request_id,
        )
        .await;
        audit.outcome = Outcome::Denied;
        crate::app::audit::record(state, audit).await;
        return Err(AppError::forbidden());
    }
    let lines = import::parse(csv).map_err(|e| AppError::invalid(e.to_string()))?;
    let now = state.now();
    let mut resolver = Resolver::default();
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    let total = lines.len() as u32;
    for line in lines {
        let checked = match line {
            Ok(line) => plan(state, who, &mut resolver, line, now).await?,
            Err((number, why)) => Err((number, why)),
        };
        match checked {
            Ok(plan) => plans.push(plan),
            Err((line, why)) => refused.push(PeopleImportRefusal {
                line,
                code: why.code().to_owned(),
                message: why.message(),
            }),
        }
    }
    let unchanged = plans
        .iter()
        .filter(|p| matches!(p, Plan::Unchanged))
        .count() as u32;
    let creates: Vec<(PersonLine, PlaceId, PlaceId)> = plans
        .into_iter()
        .filter_map(|p| match p {
            Plan::Create {
                line,
                place,
                street,
            } => Some((line, place, street)),
            Plan::Unchanged => None,
        })
        .collect();
    let created = creates
        .iter()
        .map(|(line, place, _)| ImportedPerson {
            line: line.line,
            name: line.name.clone(),
            role: line.role,
            place: *place,
            invited: line.role != Role::Resident,
        })
        .collect();
    let applied = !dry_run && refused.is_empty();
    if applied && !creates.is_empty() {
        write(state, who, &creates, now, request_id).await?;
    }
    tracing::info!(
        actor = who.actor.id.0,
        lines = total,
        refused = refused.len(),
        dry_run,
        applied,
        "people import"
    );
    Ok(PeopleImportReport {
        dry_run,
        applied,
        lines: total,
        created,
        unchanged,
        refused,
    })
}

/// Writes the planned people in one transaction, then sends each invite's code.
async fn write(
    state: &AppState,
    who: &Identity,
    creates: &[(PersonLine, PlaceId, PlaceId)],
    now: i64,
    request_id: Option<&RequestId>,
) -> AppResult<()> {
    let codes: Vec<Option<String>> = creates
        .iter()
        .map(|(line, _, _)| (line.role != Role::Resident).then(invite_codes::new_code))
        .collect();
    let hashes: Vec<Option<String>> = codes
        .iter()
        .map(|c| c.as_deref().map(invite_codes::hash))
        .collect();
    let usernames: Vec<String> = creates
        .iter()
        .map(|(line, _, _)| import::username_for(&line.phone))
        .collect();
    let expires_at = crate::app::invites::expires_at(state, now);
    let rows: Vec<ImportRow<'_>> = creates
        .iter()
        .zip(&hashes)
        .zip(&usernames)
        .map(|(((line, place, street), hash), username)| match hash {
            None => ImportRow::Resident(
                NewPerson {
                    username,
                    display_name: &line.name,
                    romanised_name: line.romanised_name.as_deref(),
                    phone: Some(line.phone.as_str()),
                    email: line.email.as_deref(),
                    password_hash: NO_PASSWORD,
                    role: line.role,
                    place: Some(*place),
                },
                Some(*street),
            ),
            Some(hash) => ImportRow::Staff(
                NewInviteRow {
                    code_hash: hash,
                    role: line.role,
                    place: Some(*place),
                    display_name: &line.name,
                    romanised_name: line.romanised_name.as_deref(),
                    phone: Some(line.phone.as_str()),
                    email: line.email.as_deref(),
                    invited_by: who.actor.id,
                    created_at: now,
                    expires_at,
                },
                Some(*street),
            ),
        })
        .collect();
    let context = AuditContext {
        at: now,
        street: None,
        request_id: request_id.map(RequestId::as_str),
    };
    let made = match state
        .store
        .import_people(&rows, who.actor.id, context)
        .await
    {
        Ok(made) => made,
        Err(StoreError::Conflict(_)) => {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "导入期间有号码或用户名被占用，什么都没有写入：请重新导入。\
                 A number or username was taken while the file was read; nothing was written: \
                 import it again.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    for ((id, code), (line, _, _)) in made.iter().zip(&codes).zip(creates) {
        if let Some(code) = code {
            crate::app::invites::deliver(state, *id, Some(&line.phone), code).await;
        }
    }
    Ok(())
}

/// Checks one line against the store: its place, the caller's right to enrol that role there,
/// and what is enrolled under its number already.
async fn plan(
    state: &AppState,
    who: &Identity,
    resolver: &mut Resolver,
    line: PersonLine,
    now: i64,
) -> AppResult<Result<Plan, (u32, LineRefusal)>> {
    let number = line.line;
    let refuse = |why| Ok(Err((number, why)));
    let given = match resolver.resolve(state, &line.place).await? {
        Ok(path) => path,
        Err(why) => return refuse(why),
    };
    let place = match people::place_of_role(line.role, &given) {
        Ok(place) => place,
        Err(_) => return refuse(LineRefusal::WrongPlace),
    };
    let Some(path) = state.store.place_path(place).await? else {
        return refuse(LineRefusal::BadPlace);
    };
    match people::may_invite(&who.actor, line.role, Some(&path)) {
        Ok(()) => {}
        Err(InviteRefusal::WrongPlace) => return refuse(LineRefusal::WrongPlace),
        Err(InviteRefusal::NotAllowed) => return refuse(LineRefusal::RoleNotAllowed),
    }
    let phone = line.phone.as_str();
    if let Some(account) = state.store.account_by_phone(phone).await? {
        let grants = state.store.grants(account.id).await?;
        return if grants
            .iter()
            .any(|g| g.role == line.role && g.place == Some(place))
        {
            Ok(Ok(Plan::Unchanged))
        } else {
            refuse(LineRefusal::PhoneEnrolled)
        };
    }
    if let Some(invite) = state.store.pending_invite_by_phone(phone, now).await? {
        return if invite.role == line.role && invite.place == Some(place) {
            Ok(Ok(Plan::Unchanged))
        } else {
            refuse(LineRefusal::PhoneEnrolled)
        };
    }
    if let Some(email) = &line.email
        && state.store.account_by_email(email).await?.is_some()
    {
        return refuse(LineRefusal::EmailEnrolled);
    }
    if line.role == Role::Resident
        && state
            .store
            .account_by_username(&import::username_for(&line.phone))
            .await?
            .is_some()
    {
        return refuse(LineRefusal::UsernameTaken);
    }
    Ok(Ok(Plan::Create {
        line,
        place,
        street: path.street,
    }))
}

/// Place paths of a file, each looked up once: a file names a few hundred buildings for
/// thousands of people.
#[derive(Default)]
struct Resolver {
    seen: HashMap<Vec<String>, Result<PlaceId, LineRefusal>>,
}

impl Resolver {
    /// The place a line names. Names are matched from the street down, each among the
    /// places under the one before, so a path of any depth the tree has (with or without a
    /// compound) resolves, and a name that is missing or shared is refused, never skipped.
    async fn resolve(
        &mut self,
        state: &AppState,
        place: &PlaceRef,
    ) -> AppResult<Result<PlacePath, LineRefusal>> {
        let id = match place {
            PlaceRef::Id(id) => *id,
            PlaceRef::Names(names) => {
                if !self.seen.contains_key(names) {
                    let found = walk(state, names).await?;
                    self.seen.insert(names.clone(), found);
                }
                match &self.seen[names] {
                    Ok(id) => *id,
                    Err(why) => return Ok(Err(why.clone())),
                }
            }
        };
        Ok(state
            .store
            .place_path(id)
            .await?
            .ok_or(LineRefusal::UnknownPlace {
                name: format!("#{}", id.0),
            }))
    }
}

async fn walk(state: &AppState, names: &[String]) -> AppResult<Result<PlaceId, LineRefusal>> {
    let mut parent = None;
    for name in names {
        let found = state.store.places_named(parent, name).await?;
        parent = match found.as_slice() {
            [one] => Some(*one),
            [] => return Ok(Err(LineRefusal::UnknownPlace { name: name.clone() })),
            _ => return Ok(Err(LineRefusal::AmbiguousPlace { name: name.clone() })),
        };
    }
    Ok(parent.ok_or(LineRefusal::BadPlace))
}

/// The staff who may take an issue at `place`, fewest open issues first, then by name.
pub async fn staff(
    state: &AppState,
    who: &Identity,
    place: PlaceId,
) -> AppResult<Vec<StaffMember>> {
    let not_found = || AppError::not_found("place");
    let here = state.store.place_path(place).await?.ok_or_else(not_found)?;
    if !access::can_see_place(&who.actor, &here) {
        return Err(not_found());
    }
    if !people::may_see_staff(&who.actor, &here) {
        return Err(AppError::forbidden());
    }
    // One row a person: the grant nearest the ground, where dispatch finds them.
    let mut chosen: BTreeMap<AccountId, crate::store::people::StaffGrantRow> = BTreeMap::new();
    for row in state.store.staff_grants().await? {
        let Some(scope) = state.store.place_path(row.place).await? else {
            continue;
        };
        let grant = Grant {
            role: row.role,
            scope: Some(scope),
        };
        if people::takes_issues_at(&grant, &here)
            && chosen.get(&row.account).is_none_or(|c| row.role < c.role)
        {
            chosen.insert(row.account, row);
        }
    }
    let load: HashMap<AccountId, u32> =
        state.store.open_issue_counts().await?.into_iter().collect();
    let mut out = Vec::with_capacity(chosen.len());
    for (account, row) in chosen {
        let Some(place) = state.store.place(row.place).await? else {
            continue;
        };
        out.push(StaffMember {
            account,
            display_name: row.display_name,
            romanised_name: row.romanised_name,
            role: row.role,
            place,
            open_issues: load.get(&account).copied().unwrap_or(0),
        });
    }
    out.sort_by(|a, b| {
        (a.open_issues, &a.display_name, a.account).cmp(&(
            b.open_issues,
            &b.display_name,
            b.account,
        ))
    });
    Ok(out)
}

/// What the people search asks.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub place: Option<PlaceId>,
    pub q: Option<String>,
    pub role: Option<Role>,
    pub limit: u32,
    pub before: Option<i64>,
}

/// People the caller may find, newest first: at or under `place` when given, whose name or
/// username holds `q` (or whose number is `q`, in any spelling), holding `role`.
pub async fn search(state: &AppState, who: &Identity, s: Search) -> AppResult<Vec<PersonInfo>> {
    if !people::may_search_people(&who.actor) {
        return Err(AppError::forbidden());
    }
    let within = match s.place {
        Some(p) => {
            let path = state.store.place_path(p).await?;
            match path.filter(|path| access::can_see_place(&who.actor, path)) {
                Some(path) => Some(path),
                None => return Err(AppError::not_found("place")),
            }
        }
        None => None,
    };
    let q = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let phone = q
        .filter(|q| q.chars().any(|c| c.is_ascii_digit()))
        .and_then(|q| Phone::parse(q).ok());
    let text = if phone.is_some() { None } else { q };
    let batch = (s.limit * 2).clamp(50, 400);
    let mut before = s.before;
    let mut scanned = 0;
    let mut out = Vec::new();
    while out.len() < s.limit as usize && scanned < SEARCH_SCAN {
        let rows = state
            .store
            .find_people(PeopleQuery {
                text,
                phone: phone.as_ref().map(Phone::as_str),
                role: s.role,
                before,
                limit: batch,
            })
            .await?;
        scanned += rows.len();
        let last_page = rows.len() < batch as usize;
        for row in rows {
            before = Some(row.id.0);
            let grants = state.store.grants(row.id).await?;
            let mut paths = Vec::new();
            for g in &grants {
                if let Some(p) = g.place
                    && let Some(path) = state.store.place_path(p).await?
                {
                    paths.push(path);
                }
            }
            let inside = within
                .as_ref()
                .is_none_or(|w| paths.iter().any(|p| w.contains(p)));
            if !inside || !people::may_find_person(&who.actor, row.id, &paths) {
                continue;
            }
            let full = people::sees_full_phone(&who.actor, row.id, &paths);
            let mut infos = Vec::with_capacity(grants.len());
            for g in grants {
                let place = match g.place {
                    Some(p) => state.store.place(p).await?,
                    None => None,
                };
                infos.push(GrantInfo {
                    role: g.role,
                    place,
                    channels: Vec::new(),
                });
            }
            out.push(PersonInfo {
                id: row.id,
                username: row.username,
                display_name: row.display_name,
                romanised_name: row.romanised_name,
                phone: row.phone.map(|p| {
                    let phone = Phone::from_stored(p);
                    if full {
                        phone.to_string()
                    } else {
                        phone.masked()
                    }
                }),
                email: row.email,
                disabled: row.disabled,
                grants: infos,
            });
            if out.len() == s.limit as usize {
                break;
            }
        }
        if last_page {
            break;
        }
    }
    Ok(out)
}
