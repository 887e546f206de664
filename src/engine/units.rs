//! docker's units on the command line: `-m 200m`, `--cpus 0.5`, `-u 1000:1000`.

use crate::image::accounts::{find_group, find_user};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UnitError {
    #[error(
        "invalid memory size {0:?}: give a number of bytes with an optional unit b, k, m or g (e.g. -m 200m)"
    )]
    Memory(String),
    #[error("memory size {0:?} is below the minimum of 6m that docker allows")]
    MemoryTooSmall(String),
    #[error("invalid --cpus {0:?}: give a positive number of CPUs, e.g. --cpus 0.5")]
    Cpus(String),
    #[error(
        "invalid user {0:?}: give UID[:GID] as numbers, or a name from the image's /etc/passwd"
    )]
    User(String),
    #[error(
        "invalid user {user:?}: {what} {id} is past 2147483647, the largest id the kernel takes \
         (setresuid reads 4294967295 as -1, \"leave unchanged\", which would keep uid 0); give an id from 0 to 2147483647"
    )]
    IdTooLarge {
        user: String,
        what: &'static str,
        id: u64,
    },
}

/// The largest uid or gid glassbox accepts: 2^31-1. The kernel's ids are
/// 32-bit, but `(uid_t)-1` (4294967295) means "unchanged" to setresuid and
/// setresgid, and ids past 2^31-1 are negative to anything that reads them as
/// a signed int (docker refuses them too).
pub const MAX_ID: u32 = i32::MAX as u32;

/// Refuses a uid or gid past [`MAX_ID`].
fn check_id(user: &str, what: &'static str, id: u64) -> Result<u32, UnitError> {
    if id > u64::from(MAX_ID) {
        return Err(UnitError::IdTooLarge {
            user: user.to_string(),
            what,
            id,
        });
    }
    Ok(id as u32)
}

/// Checks the numeric parts of `-u UID[:GID]` before anything is made (a name
/// is looked up in the image later, by [`parse_user`], which checks it too).
pub fn check_user_syntax(text: &str) -> Result<(), UnitError> {
    let (u, g) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    if let Ok(uid) = u.parse::<u64>() {
        check_id(text, "uid", uid)?;
    }
    if let Some(gid) = g.and_then(|g| g.parse::<u64>().ok()) {
        check_id(text, "gid", gid)?;
    }
    Ok(())
}

/// `200m` → 209715200 (units are powers of 1024, as docker's).
pub fn parse_memory(text: &str) -> Result<i64, UnitError> {
    let t = text.trim().to_ascii_lowercase();
    let (num, mult) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let mult: i64 = match &t[i..] {
                "b" => 1,
                "k" | "kb" | "kib" => 1 << 10,
                "m" | "mb" | "mib" => 1 << 20,
                "g" | "gb" | "gib" => 1 << 30,
                _ => return Err(UnitError::Memory(text.into())),
            };
            (&t[..i], mult)
        }
        None => (t.as_str(), 1),
    };
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| UnitError::Memory(text.into()))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(UnitError::Memory(text.into()));
    }
    let bytes = (value * mult as f64) as i64;
    if bytes < 6 * 1024 * 1024 {
        return Err(UnitError::MemoryTooSmall(text.into()));
    }
    Ok(bytes)
}

/// `0.5` → a CFS quota of 50000 µs per 100000 µs period.
pub fn parse_cpus(text: &str) -> Result<(i64, u64), UnitError> {
    let cpus: f64 = text
        .trim()
        .parse()
        .map_err(|_| UnitError::Cpus(text.into()))?;
    if !cpus.is_finite() || cpus <= 0.0 || cpus > 1024.0 {
        return Err(UnitError::Cpus(text.into()));
    }
    let period = 100_000u64;
    let quota = (cpus * period as f64).round() as i64;
    if quota < 1000 {
        return Err(UnitError::Cpus(text.into()));
    }
    Ok((quota, period))
}

/// `UID[:GID]` or `NAME[:GROUP]`, resolved with the image's passwd and group.
pub fn parse_user(text: &str, passwd: &str, group: &str) -> Result<(u32, u32), UnitError> {
    resolve_user(text, passwd, group).map(|u| (u.uid, u.gid))
}

/// Who the process is, as runc's `GetExecUser` works it out from the
/// image's /etc/passwd and /etc/group: ids, supplementary groups, `HOME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    /// setgroups(2), as dockerd sets it: the primary group, then the groups
    /// that list the user as a member when the user was named without a
    /// group (`-u app`; none with `-u app:staff`).
    pub additional_gids: Vec<u32>,
    /// The user's home from /etc/passwd, `/` when it has no entry (runc's
    /// default); the process gets `HOME` from it unless its environment sets one.
    pub home: String,
}

impl Default for ExecUser {
    /// root, without an entry: runc's `defaultExecUser`.
    fn default() -> ExecUser {
        ExecUser {
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/".into(),
        }
    }
}

/// `UID[:GID]` or `NAME[:GROUP]` (empty: root), resolved as runc does: a
/// number is a uid (its passwd entry, if any, gives the primary group and
/// home), a name must have an entry; a group given is used as the primary
/// group, otherwise the user's memberships in /etc/group are the
/// supplementary groups. Every id is checked against [`MAX_ID`].
pub fn resolve_user(text: &str, passwd: &str, group: &str) -> Result<ExecUser, UnitError> {
    let bad = || UnitError::User(text.into());
    check_user_syntax(text)?;
    let (u, g) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    // Ids from the image's files are checked like typed ones: an image can
    // say 4294967295 as well as a user can.
    let entry = match u.parse::<u64>() {
        _ if u.is_empty() => crate::image::accounts::find_uid(passwd, 0),
        Ok(uid) => crate::image::accounts::find_uid(passwd, uid),
        Err(_) => Some(find_user(passwd, u).ok_or_else(bad)?),
    };
    let uid: u64 = match (u.parse::<u64>(), &entry) {
        (Ok(uid), _) => uid,
        (Err(_), _) if u.is_empty() => 0,
        (Err(_), Some(e)) => e.uid.ok_or_else(bad)?,
        (Err(_), None) => return Err(bad()),
    };
    let primary_gid = entry.as_ref().and_then(|e| e.gid).unwrap_or(0);
    let gid: u64 = match g {
        None | Some("") => primary_gid,
        Some(g) => match g.parse::<u64>() {
            Ok(gid) => gid,
            Err(_) => find_group(group, g).ok_or_else(bad)?,
        },
    };
    // dockerd's getUser: the primary group first, then the memberships.
    let gid = check_id(text, "gid", gid)?;
    let mut additional_gids = vec![gid];
    if let (Some(e), None | Some("")) = (&entry, g) {
        for id in crate::image::accounts::member_groups(group, &e.name) {
            let id = check_id(text, "gid", id)?;
            if !additional_gids.contains(&id) {
                additional_gids.push(id);
            }
        }
    }
    let home = entry
        .map(|e| e.home)
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".into());
    Ok(ExecUser {
        uid: check_id(text, "uid", uid)?,
        gid,
        additional_gids,
        home,
    })
}

/// Parses a signal given as `KILL`, `SIGKILL` or `9`.
pub fn parse_signal(s: &str) -> anyhow::Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return Ok(n);
    }
    let name = s.to_ascii_uppercase();
    let name = if name.starts_with("SIG") {
        name
    } else {
        format!("SIG{name}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .map_err(|_| anyhow::anyhow!("Invalid signal: {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("200m"), Ok(209_715_200));
        assert_eq!(parse_memory("1g"), Ok(1 << 30));
        assert_eq!(parse_memory("10240k"), Ok(10 << 20));
        assert_eq!(parse_memory("209715200"), Ok(209_715_200));
        assert_eq!(parse_memory("1.5g"), Ok(1_610_612_736));
        assert!(matches!(parse_memory("abc"), Err(UnitError::Memory(_))));
        assert!(matches!(parse_memory("-5m"), Err(UnitError::Memory(_))));
        assert!(matches!(parse_memory("200x"), Err(UnitError::Memory(_))));
        assert!(matches!(
            parse_memory("1k"),
            Err(UnitError::MemoryTooSmall(_))
        ));
    }

    #[test]
    fn cpus_become_quota() {
        assert_eq!(parse_cpus("0.5"), Ok((50_000, 100_000)));
        assert_eq!(parse_cpus("2"), Ok((200_000, 100_000)));
        assert!(parse_cpus("-1").is_err());
        assert!(parse_cpus("0").is_err());
        assert!(parse_cpus("lots").is_err());
    }

    #[test]
    fn users_by_number_and_name() {
        let passwd = "root:x:0:0::/root:/bin/sh\nstudent:x:1000:1000::/home/student:/bin/sh\n";
        let group = "root:x:0:\nstudent:x:1000:\nstaff:x:50:\n";
        assert_eq!(parse_user("1000", passwd, group), Ok((1000, 1000)));
        assert_eq!(parse_user("1234", passwd, group), Ok((1234, 0)));
        assert_eq!(parse_user("1000:50", passwd, group), Ok((1000, 50)));
        assert_eq!(parse_user("student:staff", passwd, group), Ok((1000, 50)));
        assert!(parse_user("ghost", passwd, group).is_err());
    }

    #[test]
    fn users_get_runc_s_home_and_supplementary_groups() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
        let group =
            "root:x:0:\nwheel:x:10:root\napp:x:1000:\nstaff:x:50:app\naudio:x:29:app,root\n";
        let user = |t: &str| resolve_user(t, passwd, group).unwrap();
        assert_eq!(
            user(""),
            ExecUser {
                uid: 0,
                gid: 0,
                additional_gids: vec![0, 10, 29],
                home: "/root".into()
            }
        );
        assert_eq!(
            user("app"),
            ExecUser {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![1000, 50, 29],
                home: "/home/app".into()
            }
        );
        // A numeric uid is looked up by uid; a group given drops the memberships.
        assert_eq!(user("1000").additional_gids, vec![1000, 50, 29]);
        assert_eq!(user("app:staff").additional_gids, vec![50]);
        assert_eq!(user("app:staff").gid, 50);
        // No entry: gid 0, no memberships, HOME=/ (runc's defaults).
        assert_eq!(
            user("4242"),
            ExecUser {
                uid: 4242,
                gid: 0,
                additional_gids: vec![0],
                home: "/".into()
            }
        );
    }

    #[test]
    fn ids_past_2_31_are_refused() {
        let passwd = "big:x:4294967295:0::/:/bin/sh\nroot:x:0:0::/root:/bin/sh\n";
        let group = "huge:x:2147483648:\n";
        assert_eq!(parse_user("2147483647", "", ""), Ok((2_147_483_647, 0)));
        for bad in [
            "4294967295",
            "2147483648",
            "0:4294967295",
            "99999999999",
            "big",
            "root:huge",
        ] {
            assert!(
                matches!(
                    parse_user(bad, passwd, group),
                    Err(UnitError::IdTooLarge { .. })
                ),
                "{bad}"
            );
        }
        assert!(check_user_syntax("4294967295").is_err());
        assert!(check_user_syntax("0:2147483648").is_err());
        assert!(check_user_syntax("nobody:nogroup").is_ok());
    }
}
