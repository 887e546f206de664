//! An image's /etc/passwd and /etc/group: the names its author gave to ids.
//!
//! The kernel knows only numbers; `USER student`, `-u student:staff` and
//! `COPY --chown=student` are resolved here, in the image's own account files
//! (read inside the image by [`super::inroot`]), never the host's. Each line
//! is `name:password:id:…` with fields split by `:`; /etc/passwd's fourth
//! field is the user's primary group id.

/// A user's entry in /etc/passwd. An id field that is not a number reads as
/// `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserEntry {
    pub uid: Option<u64>,
    /// The primary group id.
    pub gid: Option<u64>,
}

/// The first line of an account file whose name (field 1) or id (field 3)
/// is `key`, split into its fields.
fn find<'a>(file: &'a str, key: &str) -> Option<Vec<&'a str>> {
    file.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && (f[0] == key || f[2] == key))
}

/// The user `key` (a name or a uid) in the text of /etc/passwd.
pub fn find_user(passwd: &str, key: &str) -> Option<UserEntry> {
    let fields = find(passwd, key)?;
    Some(UserEntry {
        uid: fields[2].parse().ok(),
        gid: fields.get(3).and_then(|g| g.parse().ok()),
    })
}

/// The id of the group `key` (a name or a gid) in the text of /etc/group;
/// `None` when it has no entry or its id is not a number.
pub fn find_group(group: &str, key: &str) -> Option<u64> {
    find(group, key)?[2].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_by_name_or_id() {
        let passwd =
            "root:x:0:0::/root:/bin/sh\nstudent:x:1000:100::/home/student:/bin/sh\nodd:x:x\n";
        let group = "root:x:0:\nstaff:x:50:\n";
        let student = Some(UserEntry {
            uid: Some(1000),
            gid: Some(100),
        });
        assert_eq!(find_user(passwd, "student"), student);
        assert_eq!(find_user(passwd, "1000"), student);
        assert_eq!(
            find_user(passwd, "odd"),
            Some(UserEntry {
                uid: None,
                gid: None
            })
        );
        assert_eq!(find_user(passwd, "ghost"), None);
        assert_eq!(find_group(group, "staff"), Some(50));
        assert_eq!(find_group(group, "50"), Some(50));
        assert_eq!(find_group(group, "wheel"), None);
    }
}
