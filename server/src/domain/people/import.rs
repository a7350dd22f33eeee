//! The people file of `POST /api/people/import`: CSV with the header `name,phone,place,role`
//! (any order, plus the optional columns `romanised_name` and `email`), one person per line.
//! Read here, each line on its own: a line is a person or a refusal saying what to fix. What
//! needs the store (the place's names, numbers enrolled already) is checked by the caller.

use crate::domain::account;
use crate::domain::phone::{Phone, PhoneError};
use hehe_protocol::{PlaceId, Role};
use std::collections::HashMap;

/// The most data lines a file may hold: a community's residents fit; a city's go in parts.
pub const MAX_LINES: usize = 5000;
/// The largest file, in bytes.
pub const MAX_BYTES: usize = 1024 * 1024;
/// The most names in a place path: street, community, compound, grid, building.
pub const MAX_PATH_NAMES: usize = 5;

const REQUIRED: [&str; 4] = ["name", "phone", "place", "role"];
const OPTIONAL: [&str; 2] = ["romanised_name", "email"];

/// A place as a line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceRef {
    /// `#12`.
    Id(PlaceId),
    /// `东湖街道/桂花社区/一网格/3栋`: Chinese names from the street down.
    Names(Vec<String>),
}

/// A line that reads well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonLine {
    /// The line of the file, the header being line 1.
    pub line: u32,
    pub name: String,
    pub romanised_name: Option<String>,
    pub phone: Phone,
    pub email: Option<String>,
    pub place: PlaceRef,
    pub role: Role,
}

/// Why a line is refused: each with a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineRefusal {
    Malformed { fields: usize, expected: usize },
    BadName(String),
    BadPhone(PhoneError),
    BadEmail,
    UnknownRole,
    BadPlace,
    UnknownPlace { name: String },
    AmbiguousPlace { name: String },
    WrongPlace,
    RoleNotAllowed,
    DuplicatePhone { first_line: u32 },
    DuplicateEmail { first_line: u32 },
    PhoneEnrolled,
    EmailEnrolled,
    UsernameTaken,
}

impl LineRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            LineRefusal::Malformed { .. } => "malformed_line",
            LineRefusal::BadName(_) => "bad_name",
            LineRefusal::BadPhone(_) => "bad_phone",
            LineRefusal::BadEmail => "bad_email",
            LineRefusal::UnknownRole => "unknown_role",
            LineRefusal::BadPlace
            | LineRefusal::UnknownPlace { .. }
            | LineRefusal::AmbiguousPlace { .. } => "unknown_place",
            LineRefusal::WrongPlace => "wrong_place",
            LineRefusal::RoleNotAllowed => "role_not_allowed",
            LineRefusal::DuplicatePhone { .. } => "duplicate_phone",
            LineRefusal::DuplicateEmail { .. } => "duplicate_email",
            LineRefusal::PhoneEnrolled => "phone_enrolled",
            LineRefusal::EmailEnrolled => "email_enrolled",
            LineRefusal::UsernameTaken => "username_taken",
        }
    }

    /// What to fix, Chinese first, English beside it. Never the line's personal data: the
    /// report goes to whoever imports, but may be pasted into a ticket.
    pub fn message(&self) -> String {
        match self {
            LineRefusal::Malformed { fields, expected } => format!(
                "这一行有 {fields} 列，表头有 {expected} 列：请检查逗号和引号。\
                 This line has {fields} fields where the header has {expected}: check its commas \
                 and quotes."
            ),
            LineRefusal::BadName(why) => format!("姓名有误：{why}。The name is wrong: {why}."),
            LineRefusal::BadPhone(e) => e.to_string(),
            LineRefusal::BadEmail => super::EmailError.to_string(),
            LineRefusal::UnknownRole => "未知角色：请填写 resident、building_lead、grid_worker、\
                community_official 或 street_chief（或其中文名称）。Unknown role: write resident, \
                building_lead, grid_worker, community_official or street_chief (or its Chinese \
                name)."
                .into(),
            LineRefusal::BadPlace => format!(
                "地点须为从街道起、以 / 分隔的 1 到 {MAX_PATH_NAMES} 个中文名称，或 #编号。\
                 The place is 1 to {MAX_PATH_NAMES} Chinese names from the street down, joined by \
                 /, or #id."
            ),
            LineRefusal::UnknownPlace { name } => format!(
                "找不到地点“{name}”：请先导入地点，或检查名称。\
                 No place “{name}” there: import the places first, or check the name."
            ),
            LineRefusal::AmbiguousPlace { name } => format!(
                "有不止一个地点叫“{name}”：请改用 #编号。\
                 More than one place there is called “{name}”: use its #id instead."
            ),
            LineRefusal::WrongPlace => super::InviteRefusal::WrongPlace.to_string(),
            LineRefusal::RoleNotAllowed => super::InviteRefusal::NotAllowed.to_string(),
            LineRefusal::DuplicatePhone { first_line } => format!(
                "这个手机号码在第 {first_line} 行已出现：每人一行。\
                 This phone number is on line {first_line} already: one line per person."
            ),
            LineRefusal::DuplicateEmail { first_line } => format!(
                "这个电子邮箱在第 {first_line} 行已出现：每人一个邮箱。\
                 This email address is on line {first_line} already: one address per person."
            ),
            LineRefusal::EmailEnrolled => "这个电子邮箱已属于另一个账户：请删去或换一个。\
                This email address belongs to another account already: leave it out or use \
                another."
                .into(),
            LineRefusal::PhoneEnrolled => "这个手机号码已属于另一个账户或邀请：\
                请在人员管理中为其授予角色。This phone number belongs to another account or \
                invite already: give that person the role under people instead."
                .into(),
            LineRefusal::UsernameTaken => "由手机号码生成的用户名已被占用：请联系管理员。\
                The username made from this phone number is taken: ask an admin."
                .into(),
        }
    }
}

/// Why a whole file is refused: nothing in it is read further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefusal {
    #[error(
        "文件为空：第一行须为表头 name,phone,place,role。\
         The file is empty: its first line is the header name,phone,place,role."
    )]
    Empty,
    #[error(
        "表头缺少“{0}”列：表头须含 name,phone,place,role，可另加 romanised_name,email。\
         The header has no “{0}” column: it holds name,phone,place,role and optionally \
         romanised_name,email."
    )]
    MissingColumn(&'static str),
    #[error(
        "表头中的“{0}”列无法识别或重复：只能有 name,phone,place,role,romanised_name,email。\
         The header's “{0}” column is unknown or repeated: only name, phone, place, role, \
         romanised_name and email are read."
    )]
    UnknownColumn(String),
    #[error(
        "文件超过 {MAX_LINES} 行：请分成几个文件导入。\
         The file has more than {MAX_LINES} lines: import it in parts."
    )]
    TooManyLines,
    #[error("文件无法按 CSV 读取：{0}。The file cannot be read as CSV: {0}.")]
    Unreadable(String),
}

/// A line read: the person, or its number and why it is refused.
pub type Line = Result<PersonLine, (u32, LineRefusal)>;

/// Reads the file into lines: each a person, or why it is refused. Numbers (and email
/// addresses) repeated within the file are refused on every line after the first that has them.
pub fn parse(text: &str) -> Result<Vec<Line>, FileRefusal> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| FileRefusal::Unreadable(e.to_string()))?
        .clone();
    if header.iter().all(str::is_empty) {
        return Err(FileRefusal::Empty);
    }
    let mut columns: HashMap<String, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        let known = REQUIRED.contains(&name.as_str()) || OPTIONAL.contains(&name.as_str());
        if !known || columns.insert(name.clone(), i).is_some() {
            return Err(FileRefusal::UnknownColumn(name));
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|c| !columns.contains_key(**c)) {
        return Err(FileRefusal::MissingColumn(missing));
    }
    let mut out = Vec::new();
    let mut phones: HashMap<Phone, u32> = HashMap::new();
    let mut emails: HashMap<String, u32> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| FileRefusal::Unreadable(e.to_string()))?;
        if out.len() == MAX_LINES {
            return Err(FileRefusal::TooManyLines);
        }
        let line = record.position().map_or(0, |p| p.line()) as u32;
        let parsed = if record.len() == header.len() {
            read_line(line, &record, &columns)
        } else {
            Err(LineRefusal::Malformed {
                fields: record.len(),
                expected: header.len(),
            })
        };
        let checked = parsed.and_then(|p| {
            if let Some(first) = phones.get(&p.phone) {
                return Err(LineRefusal::DuplicatePhone { first_line: *first });
            }
            if let Some(first) = p.email.as_ref().and_then(|e| emails.get(e)) {
                return Err(LineRefusal::DuplicateEmail { first_line: *first });
            }
            phones.insert(p.phone.clone(), line);
            if let Some(email) = &p.email {
                emails.insert(email.clone(), line);
            }
            Ok(p)
        });
        out.push(checked.map_err(|why| (line, why)));
    }
    Ok(out)
}

fn read_line(
    line: u32,
    record: &csv::StringRecord,
    columns: &HashMap<String, usize>,
) -> Result<PersonLine, LineRefusal> {
    let field = |name: &str| columns.get(name).and_then(|i| record.get(*i)).unwrap_or("");
    let name = account::display_name(field("name"))
        .map_err(|e| LineRefusal::BadName(e.to_string()))?
        .as_str()
        .to_owned();
    let romanised_name = match field("romanised_name") {
        "" => None,
        raw => Some(
            account::display_name(raw)
                .map_err(|e| LineRefusal::BadName(e.to_string()))?
                .as_str()
                .to_owned(),
        ),
    };
    let phone = Phone::parse(field("phone")).map_err(LineRefusal::BadPhone)?;
    let email = match field("email") {
        "" => None,
        raw => Some(super::email(raw).map_err(|_| LineRefusal::BadEmail)?),
    };
    let role = role(field("role")).ok_or(LineRefusal::UnknownRole)?;
    let place = place(field("place")).ok_or(LineRefusal::BadPlace)?;
    Ok(PersonLine {
        line,
        name,
        romanised_name,
        phone,
        email,
        place,
        role,
    })
}

/// A role by its wire name or its Chinese name; ops and admin are not imported.
pub fn role(raw: &str) -> Option<Role> {
    let role = match raw.trim() {
        "居民" => Role::Resident,
        "楼道长" | "楼长" => Role::BuildingLead,
        "网格员" => Role::GridWorker,
        "社区干部" | "社区工作者" => Role::CommunityOfficial,
        "街长" | "街道负责人" => Role::StreetChief,
        other => other.to_ascii_lowercase().parse().ok()?,
    };
    (!matches!(role, Role::Ops | Role::Admin)).then_some(role)
}

/// `#id`, or 1 to `MAX_PATH_NAMES` names joined by `/`, none empty.
pub fn place(raw: &str) -> Option<PlaceRef> {
    let raw = raw.trim();
    if let Some(id) = raw.strip_prefix('#') {
        return id
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| PlaceRef::Id(PlaceId(n)));
    }
    let names: Vec<String> = raw.split('/').map(|n| n.trim().to_owned()).collect();
    let fits = (1..=MAX_PATH_NAMES).contains(&names.len()) && names.iter().all(|n| !n.is_empty());
    fits.then_some(PlaceRef::Names(names))
}

/// The username an imported resident gets: made from the number, which is what they sign in
/// with (`p` and the digits of E.164, e.g. `p8613812345678`).
pub fn username_for(phone: &Phone) -> String {
    let digits: String = phone
        .as_str()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("p{digits}")
}
