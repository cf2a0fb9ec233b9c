//! The rows of an import file (CSV or JSON Lines), each with the user it makes or why not.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufRead, BufReader},
    path::Path,
};

use anyhow::Context;
use gateway::http::kore::{KoreUser, UserInfo};
use proto::registry::v1 as pb;

use super::Format;

/// A row of the file that was not imported, and why.
pub(super) struct Rejected {
    pub(super) line: u64,
    pub(super) row: Raw,
    pub(super) reason: String,
}

/// A row as the file holds it, to write back beside its reason.
pub(super) enum Raw {
    Csv(Vec<String>),
    Json(String),
}

/// One row of the file: where it is, what it holds, and the user it makes (or why not).
pub(super) struct Row {
    pub(super) line: u64,
    pub(super) raw: Raw,
    pub(super) user: Result<pb::NewUser, String>,
    /// Bytes of the file read so far, for the progress bar.
    pub(super) offset: u64,
}

/// The rows of a file, in order; the same file always yields the same rows.
pub(super) enum Rows {
    Csv { reader: csv::Reader<File>, columns: Columns, record: csv::ByteRecord },
    Jsonl { reader: BufReader<File>, line: u64, offset: u64 },
}

impl Rows {
    pub(super) fn open(path: &Path, format: Format) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
                let headers = reader.headers().with_context(|| format!("{}: no CSV header", path.display()))?;
                let columns = Columns::find(headers).with_context(|| format!("{}", path.display()))?;
                Self::Csv { reader, columns, record: csv::ByteRecord::new() }
            }
            Format::Jsonl => Self::Jsonl { reader: BufReader::new(file), line: 0, offset: 0 },
            Format::Roster => anyhow::bail!("a Roster export is not read as Kore.ai users"),
        })
    }

    pub(super) fn next_row(&mut self) -> anyhow::Result<Option<Row>> {
        match self {
            Self::Csv { reader, columns, record } => {
                if !reader.read_byte_record(record)? {
                    return Ok(None);
                }
                let (line, offset) = record.position().map_or((0, 0), |p| (p.line(), p.byte()));
                let fields: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                let user = columns.user(&fields, record);
                Ok(Some(Row { line, raw: Raw::Csv(fields), user, offset }))
            }
            Self::Jsonl { reader, line, offset } => loop {
                let mut bytes = Vec::new();
                let read = reader.read_until(b'\n', &mut bytes)?;
                if read == 0 {
                    return Ok(None);
                }
                *line += 1;
                *offset += read as u64;
                let text = String::from_utf8_lossy(&bytes).trim().to_owned();
                if text.is_empty() {
                    continue;
                }
                let user =
                    serde_json::from_str::<KoreUser>(&text).map_err(|e| e.to_string()).map(KoreUser::into_new_user);
                return Ok(Some(Row { line: *line, raw: Raw::Json(text), user, offset: *offset }));
            },
        }
    }
}

/// Where each known CSV column is.
pub(super) struct Columns {
    names: Vec<String>,
    index: BTreeMap<&'static str, usize>,
}

impl Columns {
    /// Every `userInfo` field, then the member's own columns.
    const KNOWN: [&'static str; 18] = [
        "emailId",
        "orgUserId",
        "firstName",
        "lastName",
        "companyName",
        "dept",
        "companyContactPhone",
        "worknumber",
        "street",
        "suiteNo",
        "city",
        "zip",
        "state",
        "country",
        "groups",
        "canCreateBot",
        "isDeveloper",
        "sendEmail",
    ];

    /// The columns a rejected file adds, skipped so that a rejected file, fixed, imports as it is.
    const REJECTED: [&'static str; 2] = ["line", "reason"];

    /// Where each column is; any other column refuses the file, so nothing in it is silently
    /// left out.
    pub(super) fn find(headers: &csv::StringRecord) -> anyhow::Result<Self> {
        let names: Vec<String> = headers.iter().map(|h| h.trim().to_owned()).collect();
        let unknown: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !Self::KNOWN.iter().chain(&Self::REJECTED).any(|known| n.eq_ignore_ascii_case(known)))
            .collect();
        anyhow::ensure!(
            unknown.is_empty(),
            "the CSV header has columns Roster does not keep: {}; the columns are {}",
            unknown.join(", "),
            Self::KNOWN.join(", ")
        );
        let index = Self::KNOWN
            .iter()
            .filter_map(|known| names.iter().position(|n| n.eq_ignore_ascii_case(known)).map(|i| (*known, i)))
            .collect::<BTreeMap<_, _>>();
        anyhow::ensure!(index.contains_key("emailId"), "the CSV header has no emailId column");
        Ok(Self { names, index })
    }

    pub(super) fn user(&self, fields: &[String], record: &csv::ByteRecord) -> Result<pb::NewUser, String> {
        if std::str::from_utf8(record.as_slice()).is_err() {
            return Err("the row is not valid UTF-8".into());
        }
        if fields.len() != self.names.len() {
            return Err(format!("the row has {} fields, the header {}", fields.len(), self.names.len()));
        }
        let text = |name: &str| self.index.get(name).map(|&i| fields[i].trim()).filter(|v| !v.is_empty());
        let flag = |name: &str, default: bool| match text(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "yes" | "1") => Ok(true),
            Some("false" | "no" | "0") => Ok(false),
            Some(_) => Err(format!("{name} must be true or false")),
        };
        let owned = |name: &str| text(name).map(str::to_owned);
        let groups = text("groups").map(|g| g.split(';').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned));
        Ok(KoreUser {
            user_info: UserInfo {
                email_id: owned("emailId"),
                org_user_id: owned("orgUserId"),
                first_name: owned("firstName"),
                last_name: owned("lastName"),
                company_name: owned("companyName"),
                dept: owned("dept"),
                company_contact_phone: owned("companyContactPhone"),
                worknumber: owned("worknumber"),
                street: owned("street"),
                suite_no: owned("suiteNo"),
                city: owned("city"),
                zip: owned("zip"),
                state: owned("state"),
                country: owned("country"),
            },
            groups: groups.map(Iterator::collect).unwrap_or_default(),
            roles: Vec::new(),
            assign_bot_tasks: Vec::new(),
            can_create_bot: Some(flag("canCreateBot", true)?),
            is_developer: Some(flag("isDeveloper", true)?),
            send_email: Some(flag("sendEmail", false)?),
        }
        .into_new_user())
    }
}
