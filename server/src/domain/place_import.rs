//! A place tree from CSV: one line per building with its street, community, optional compound
//! and grid, by their Chinese names (English names in optional `*_en` columns). Reading the
//! file and planning what it creates are pure: the store supplies the places that exist, the
//! use-case applies the plan in one transaction, and only when no line is refused.
//!
//! Planning is idempotent by construction: a place is found by its parent and Chinese name
//! before anything is created, so a file applied twice creates nothing the second time.

use super::access::Actor;
use super::place_admin::{self, PlaceRefusal};
use super::places::PlacePath;
use super::text::{Problem, Text};
use hehe_protocol::PlaceId;
use hehe_protocol::http::PlaceKind;
use hehe_protocol::places::{ImportCreated, ImportRefusal};
use std::collections::HashMap;

/// The most a file may hold: a street office's whole tree fits many times over.
pub const MAX_BYTES: usize = 1 << 20;
pub const MAX_LINES: usize = 5000;

/// The levels of a line, from the street down; a compound is optional, the others required.
const LEVELS: [PlaceKind; 5] = [
    PlaceKind::Street,
    PlaceKind::Community,
    PlaceKind::Compound,
    PlaceKind::Grid,
    PlaceKind::Building,
];

/// Why a whole file is refused before any line is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefusal {
    #[error("文件过大：最多 {max} 字节，请分成几个文件导入。The file is too large: at most {max} bytes; import it in parts.", max = MAX_BYTES)]
    TooLarge,
    #[error("行数过多：最多 {max} 行，请分成几个文件导入。The file has too many lines: at most {max}; import it in parts.", max = MAX_LINES)]
    TooManyLines,
    #[error("文件须为 UTF-8 编码的 CSV。The file must be CSV in UTF-8.")]
    NotUtf8,
    #[error(
        "文件为空：第一行须为表头 street,community,grid,building（可另加 compound,units,floors）。\
         The file is empty: its first line is the header street,community,grid,building \
         (and optionally compound,units,floors)."
    )]
    Empty,
    /// The header's problems, each a sentence (a column unknown, missing or named twice).
    #[error("表头有误。The header is wrong. {0}")]
    Header(String),
}

/// One data line: the names at each level (Chinese, and English if given) and a building's
/// figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line of the file; the header is line 1.
    pub line: u32,
    pub names: [Option<(String, Option<String>)>; 5],
    pub units: Option<u32>,
    pub floors: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Data lines read, refused ones included.
    pub count: u32,
    pub lines: Vec<Line>,
    pub refused: Vec<ImportRefusal>,
}

fn refusal(line: u32, code: &str, message: impl Into<String>) -> ImportRefusal {
    ImportRefusal {
        line,
        code: code.to_owned(),
        message: message.into(),
    }
}

/// Reads a file: the header names the columns (in any order), each line is checked on its own.
pub fn parse(bytes: &[u8]) -> Result<Parsed, FileRefusal> {
    if bytes.len() > MAX_BYTES {
        return Err(FileRefusal::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| FileRefusal::NotUtf8)?;
    // Spreadsheets save UTF-8 with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(FileRefusal::Empty);
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Parsed::default();
    // A wrong header refuses the file as a whole, as the people import does: no line of it
    // can be read, so there is nothing to preview line by line.
    let columns = header(&mut reader).map_err(|refused| {
        FileRefusal::Header(
            refused
                .into_iter()
                .map(|r| r.message)
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    for record in reader.records() {
        out.count += 1;
        if out.count as usize > MAX_LINES {
            return Err(FileRefusal::TooManyLines);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as u32);
                out.refused.push(refusal(
                    line,
                    "malformed",
                    "该行不是有效的 CSV，或列数与标题行不同。\
                     The line is not valid CSV, or has not as many fields as the header.",
                ));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as u32);
        match read_line(line, &columns, &record) {
            Ok(l) => out.lines.push(l),
            Err(r) => out.refused.push(r),
        }
    }
    Ok(out)
}

/// What each column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name(usize),
    English(usize),
    Units,
    Floors,
}

fn header<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
) -> Result<Vec<Column>, Vec<ImportRefusal>> {
    let names = reader.headers().map_err(|_| {
        vec![refusal(
            1,
            "malformed",
            "标题行不是有效的 CSV。The header line is not valid CSV.",
        )]
    })?;
    let mut columns = Vec::new();
    let mut refused = Vec::new();
    for name in names {
        let name = name.to_ascii_lowercase();
        let level = |n: &str| LEVELS.iter().position(|k| k.as_str() == n);
        let column = match name.as_str() {
            "units" => Some(Column::Units),
            "floors" => Some(Column::Floors),
            n => match n.strip_suffix("_en") {
                Some(base) => level(base).map(Column::English),
                None => level(n).map(Column::Name),
            },
        };
        match column {
            Some(c) if columns.contains(&c) => refused.push(refusal(
                1,
                "duplicate_column",
                format!("列“{name}”出现了两次。The column {name:?} appears twice."),
            )),
            Some(c) => columns.push(c),
            None => refused.push(refusal(
                1,
                "unknown_column",
                format!(
                    "未知的列“{name}”：可用的列为 street, community, compound, grid, building, \
                     units, floors 及 *_en。Unknown column {name:?}: the columns are street, \
                     community, compound, grid, building, units, floors and *_en."
                ),
            )),
        }
    }
    for (i, kind) in LEVELS.iter().enumerate() {
        if *kind != PlaceKind::Compound && !columns.contains(&Column::Name(i)) {
            let k = kind.as_str();
            refused.push(refusal(
                1,
                "missing_column",
                format!("缺少“{k}”列。The column {k:?} is missing."),
            ));
        }
    }
    if refused.is_empty() {
        Ok(columns)
    } else {
        Err(refused)
    }
}

fn read_line(
    line: u32,
    columns: &[Column],
    record: &csv::StringRecord,
) -> Result<Line, ImportRefusal> {
    let mut out = Line {
        line,
        names: Default::default(),
        units: None,
        floors: None,
    };
    let mut english: [Option<String>; 5] = Default::default();
    for (column, value) in columns.iter().zip(record) {
        if value.is_empty() {
            continue;
        }
        match column {
            Column::Name(i) => {
                let field = place_admin::NAME_ZH;
                let text = Text::parse(value, &field).map_err(|e| name_refusal(line, e))?;
                out.names[*i] = Some((text.into_string(), None));
            }
            Column::English(i) => {
                let text =
                    Text::parse(value, &place_admin::NAME).map_err(|e| name_refusal(line, e))?;
                english[*i] = Some(text.into_string());
            }
            Column::Units => out.units = Some(number(line, value)?),
            Column::Floors => out.floors = Some(number(line, value)?),
        }
    }
    for (i, kind) in LEVELS.iter().enumerate() {
        match (&mut out.names[i], english[i].take()) {
            (Some((_, en)), given) => *en = given,
            (None, _) if *kind != PlaceKind::Compound => {
                let k = kind.as_str();
                return Err(refusal(
                    line,
                    "missing_name",
                    format!("该行缺少{}的名称。The line names no {k}.", kind_zh(*kind)),
                ));
            }
            (None, Some(_)) => {
                return Err(refusal(
                    line,
                    "missing_name",
                    "该行有小区英文名而无中文名。The line has a compound's English name but not its Chinese one.",
                ));
            }
            (None, None) => {}
        }
    }
    place_admin::figures(PlaceKind::Building, out.units, out.floors)
        .map_err(|e| refusal(line, "bad_number", e.to_string()))?;
    Ok(out)
}

fn name_refusal(line: u32, e: super::text::TextError) -> ImportRefusal {
    let code = match e.problem {
        Problem::TooLong(_) => "name_too_long",
        _ => "bad_name",
    };
    refusal(line, code, PlaceRefusal::Name(e).to_string())
}

fn number(line: u32, value: &str) -> Result<u32, ImportRefusal> {
    value
        .parse()
        .map_err(|_| refusal(line, "bad_number", PlaceRefusal::Figures.to_string()))
}

pub fn kind_zh(kind: PlaceKind) -> &'static str {
    match kind {
        PlaceKind::Street => "街道",
        PlaceKind::Community => "社区",
        PlaceKind::Compound => "小区",
        PlaceKind::Grid => "网格",
        PlaceKind::Building => "楼栋",
    }
}

/// A place that exists, as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub id: PlaceId,
    pub kind: PlaceKind,
    pub parent: Option<PlaceId>,
    pub name_zh: String,
    pub archived: bool,
    pub units: Option<u32>,
    pub floors: Option<u32>,
}

/// A place the file creates. `id` is negative (a stand-in until it is stored); `parent` is a
/// known place's id or an earlier new place's stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlace {
    pub id: PlaceId,
    pub kind: PlaceKind,
    pub parent: Option<PlaceId>,
    pub name: String,
    pub name_zh: String,
    pub units: Option<u32>,
    pub floors: Option<u32>,
    pub line: u32,
    /// Chinese names from the street down, joined by `/`.
    pub path: String,
    /// The street it lies in (a stand-in when the street is new too), for its audit entry.
    pub street: PlaceId,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// In an order that puts every parent before its children.
    pub create: Vec<NewPlace>,
    pub unchanged: u32,
    pub refused: Vec<ImportRefusal>,
}

impl Plan {
    pub fn created(&self) -> Vec<ImportCreated> {
        self.create
            .iter()
            .map(|p| ImportCreated {
                line: p.line,
                kind: p.kind.as_str().to_owned(),
                name_zh: p.name_zh.clone(),
                path: p.path.clone(),
                id: None,
            })
            .collect()
    }
}

/// A place of the tree being planned, known or new.
#[derive(Debug, Clone)]
struct Node {
    kind: PlaceKind,
    archived: bool,
    units: Option<u32>,
    floors: Option<u32>,
    path: PlacePath,
    names: String,
}

struct Tree {
    nodes: HashMap<PlaceId, Node>,
    /// (parent, Chinese name) → the place.
    by_name: HashMap<(Option<PlaceId>, String), PlaceId>,
    /// (community, kind, Chinese name) → parent: a compound, grid or building is named once in
    /// its community, so the same name under two parents is a mistake, not two places.
    in_community: HashMap<(PlaceId, PlaceKind, String), PlaceId>,
}

impl Tree {
    fn add(
        &mut self,
        id: PlaceId,
        kind: PlaceKind,
        parent: Option<PlaceId>,
        name_zh: &str,
    ) -> Option<Node> {
        let above = parent.and_then(|p| self.nodes.get(&p));
        let path = match (above, kind) {
            (None, PlaceKind::Street) => PlacePath::street(id),
            (Some(a), PlaceKind::Community) => PlacePath::community(a.path.street, id),
            (Some(a), PlaceKind::Compound) => a
                .path
                .community
                .map(|c| PlacePath::compound(a.path.street, c, id))?,
            (Some(a), PlaceKind::Grid) => {
                let c = a.path.community?;
                let grid = PlacePath::grid(a.path.street, c, id);
                match a.path.compound {
                    Some(k) => grid.in_compound(k),
                    None => grid,
                }
            }
            (Some(a), PlaceKind::Building) => PlacePath {
                building: Some(id),
                ..a.path
            },
            _ => return None,
        };
        let names = match above {
            Some(a) => format!("{}/{name_zh}", a.names),
            None => name_zh.to_owned(),
        };
        let node = Node {
            kind,
            archived: false,
            units: None,
            floors: None,
            path,
            names,
        };
        self.by_name.insert((parent, name_zh.to_owned()), id);
        if let (Some(c), Some(p)) = (path.community, parent)
            && kind != PlaceKind::Community
        {
            self.in_community
                .entry((c, kind, name_zh.to_owned()))
                .or_insert(p);
        }
        self.nodes.insert(id, node.clone());
        Some(node)
    }
}

/// What `lines` would create under the `known` places, for `actor`, and every line refused.
/// Lines are planned in order; a refused line adds nothing to the plan.
pub fn plan(actor: &Actor, lines: &[Line], known: &[Known]) -> Plan {
    let mut tree = Tree {
        nodes: HashMap::new(),
        by_name: HashMap::new(),
        in_community: HashMap::new(),
    };
    // Parents first: streets, then communities, … (a known tree may list them in any order).
    for kind in LEVELS {
        for k in known.iter().filter(|k| k.kind == kind) {
            if let Some(node) = tree.nodes.get_mut(&k.id) {
                node.archived = k.archived;
            } else if tree.add(k.id, k.kind, k.parent, &k.name_zh).is_some() {
                let node = tree.nodes.get_mut(&k.id).expect("just added");
                node.archived = k.archived;
                node.units = k.units;
                node.floors = k.floors;
            }
        }
    }
    let mut out = Plan::default();
    for line in lines {
        // A copy per line: a refused line leaves the tree as it was.
        let before = (
            tree.nodes.len(),
            tree.by_name.len(),
            tree.in_community.len(),
        );
        let mut trial = TreeTrial {
            created: Vec::new(),
        };
        match plan_line(actor, line, &mut tree, &mut trial, out.create.len()) {
            Ok(()) if trial.created.is_empty() => out.unchanged += 1,
            Ok(()) => out.create.extend(trial.created),
            Err(r) => {
                undo(&mut tree, &trial.created);
                debug_assert_eq!(
                    before,
                    (
                        tree.nodes.len(),
                        tree.by_name.len(),
                        tree.in_community.len()
                    )
                );
                out.refused.push(r);
            }
        }
    }
    out
}

struct TreeTrial {
    created: Vec<NewPlace>,
}

fn undo(tree: &mut Tree, created: &[NewPlace]) {
    for p in created {
        if let Some(node) = tree.nodes.remove(&p.id) {
            tree.by_name.remove(&(p.parent, p.name_zh.clone()));
            // Only the entry this line made: an earlier one names another parent.
            if let Some(c) = node.path.community {
                let key = (c, p.kind, p.name_zh.clone());
                if tree.in_community.get(&key) == p.parent.as_ref() {
                    tree.in_community.remove(&key);
                }
            }
        }
    }
}

fn plan_line(
    actor: &Actor,
    line: &Line,
    tree: &mut Tree,
    trial: &mut TreeTrial,
    planned: usize,
) -> Result<(), ImportRefusal> {
    let n = line.line;
    let mut parent: Option<PlaceId> = None;
    for (i, kind) in LEVELS.iter().copied().enumerate() {
        let Some((name_zh, name_en)) = &line.names[i] else {
            continue;
        };
        let found = tree.by_name.get(&(parent, name_zh.clone())).copied();
        let id = match found {
            Some(id) => {
                let node = &tree.nodes[&id];
                if node.kind != kind {
                    return Err(refusal(
                        n,
                        "name_taken",
                        format!(
                            "“{}”已是{}，不能再作{}。{name_zh:?} is a {} already, not a {}.",
                            node.names,
                            kind_zh(node.kind),
                            kind_zh(kind),
                            node.kind.as_str(),
                            kind.as_str()
                        ),
                    ));
                }
                if node.archived {
                    return Err(refusal(
                        n,
                        "archived_parent",
                        format!(
                            "“{}”已归档：请先恢复它。{:?} is archived: restore it first.",
                            node.names, node.names
                        ),
                    ));
                }
                id
            }
            None => {
                let within = parent.map(|p| tree.nodes[&p].path);
                if !place_admin::may_manage(actor, kind, within.as_ref()) {
                    return Err(refusal(
                        n,
                        "outside_scope",
                        format!(
                            "您的角色不能在此处新建{}“{name_zh}”。Your role does not let you create the {} {name_zh:?} there.",
                            kind_zh(kind),
                            kind.as_str()
                        ),
                    ));
                }
                let id = PlaceId(-((planned + trial.created.len()) as i64) - 1);
                let Some(node) = tree.add(id, kind, parent, name_zh) else {
                    // Levels come in tree order, so a new place always fits its parent.
                    return Err(refusal(
                        n,
                        "malformed",
                        PlaceRefusal::WrongParent { kind }.to_string(),
                    ));
                };
                let building = kind == PlaceKind::Building;
                if building && let Some(node) = tree.nodes.get_mut(&id) {
                    node.units = line.units;
                    node.floors = line.floors;
                }
                trial.created.push(NewPlace {
                    id,
                    kind,
                    parent,
                    name: name_en.clone().unwrap_or_else(|| name_zh.clone()),
                    name_zh: name_zh.clone(),
                    units: line.units.filter(|_| building),
                    floors: line.floors.filter(|_| building),
                    line: n,
                    path: node.names,
                    street: node.path.street,
                });
                id
            }
        };
        let node = &tree.nodes[&id];
        if let (Some(c), Some(p)) = (node.path.community, parent)
            && kind != PlaceKind::Community
            && let Some(other) = tree.in_community.get(&(c, kind, name_zh.clone()))
            && *other != p
        {
            let elsewhere = tree.nodes.get(other).map_or("", |o| o.names.as_str());
            return Err(refusal(
                n,
                "two_parents",
                format!(
                    "{}“{name_zh}”已在“{elsewhere}”下：同一社区内名称只能出现在一个上级下，移动请用“移动”。\
                     The {} {name_zh:?} is under {elsewhere:?} already: a name belongs under one parent in a community; to move it, use move.",
                    kind_zh(kind),
                    kind.as_str()
                ),
            ));
        }
        parent = Some(id);
    }
    let Some(building) = parent.map(|b| tree.nodes[&b].clone()) else {
        return Ok(());
    };
    if !place_admin::may_manage(actor, PlaceKind::Building, Some(&building.path)) {
        return Err(refusal(
            n,
            "outside_scope",
            "该行的楼栋不在您管理的范围内。The line's building lies outside the places you manage.",
        ));
    }
    let differs = |given: Option<u32>, stored: Option<u32>| given.is_some() && given != stored;
    if differs(line.units, building.units) || differs(line.floors, building.floors) {
        return Err(refusal(
            n,
            "attributes_differ",
            "该楼栋已存在，但单元数或层数与文件不同：请在地点管理中修改。\
             The building exists with other units or floors: change them in place management.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
